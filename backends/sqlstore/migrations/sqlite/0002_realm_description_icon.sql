-- What server_settings shows of a realm: its description (HTML) and icon URL.
ALTER TABLE realms ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE realms ADD COLUMN icon_url    TEXT NOT NULL DEFAULT '';
