#!/usr/bin/env python3
"""Writes ../vectors_test.go: password hashes made outside Go.

The hashes are computed the way their own systems compute them, by
implementations that share no code with the Go libraries the package uses:

  * pbkdf2_sha256: Python's hashlib.pbkdf2_hmac, encoded as Django's
    PBKDF2PasswordHasher does: pbkdf2_sha256$<iterations>$<salt>$<base64 key>.
  * bcrypt: the C library libxcrypt (glibc's crypt(3)), the bcrypt PHP and
    Ruby applications use; bcrypt_sha256 as Django's BCryptSHA256PasswordHasher
    does: bcrypt of the lower-case hex SHA-256 digest, prefixed
    "bcrypt_sha256$".
  * argon2: the reference C implementation (libargon2, which argon2-cffi
    wraps), prefixed "argon2" as Django's Argon2PasswordHasher does, with the
    salt used as its ASCII bytes as Django does.

The salts come from a seeded generator, so running this again writes the same
file. Run from this directory: python3 vectors.py (needs libcrypt.so.1 and
libargon2.so.1, Debian's libcrypt1 and libargon2-1).
"""

import base64
import ctypes
import hashlib
import random
import string

rng = random.Random(20240501)
ALNUM = string.ascii_letters + string.digits
BCRYPT_B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

libcrypt = ctypes.CDLL("libcrypt.so.1")
libcrypt.crypt.restype = ctypes.c_char_p
libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]

libargon2 = ctypes.CDLL("libargon2.so.1")
for fn in (libargon2.argon2id_hash_encoded, libargon2.argon2i_hash_encoded):
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32,
                   ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                   ctypes.c_size_t, ctypes.c_size_t, ctypes.c_char_p,
                   ctypes.c_size_t]


def django_salt(n=22):
    # Django's get_random_string: letters and digits.
    return "".join(rng.choice(ALNUM) for _ in range(n))


def pbkdf2_sha256(password, iterations, salt):
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return "pbkdf2_sha256$%d$%s$%s" % (iterations, salt, base64.b64encode(key).decode())


def bcrypt(secret, minor, cost):
    # 22 salt characters; the last one carries only 2 bits (128-bit salt).
    salt = "".join(rng.choice(BCRYPT_B64) for _ in range(21)) + rng.choice(".Oeu")
    setting = ("$2%s$%02d$%s" % (minor, cost, salt)).encode()
    out = libcrypt.crypt(secret, setting)
    assert out is not None and out.startswith(setting[:7]), out
    return out.decode()


def bcrypt_sha256(password, minor, cost):
    digest = hashlib.sha256(password.encode()).hexdigest().encode()
    return "bcrypt_sha256$" + bcrypt(digest, minor, cost)


def argon2(variant, password, salt, t, m, p, keylen):
    fn = libargon2.argon2id_hash_encoded if variant == "id" else libargon2.argon2i_hash_encoded
    buf = ctypes.create_string_buffer(512)
    pw = password.encode()
    rc = fn(t, m, p, pw, len(pw), salt, len(salt), keylen, buf, len(buf))
    assert rc == 0, rc
    return buf.value.decode()


def django_argon2(variant, password, t, m, p, keylen):
    return "argon2" + argon2(variant, password, django_salt().encode(), t, m, p, keylen)


PW = "correct horse battery staple"
UTF8 = "lètmein ✓ пароль"
LONG = "a password longer than bcrypt's seventy-two byte limit, which bcrypt ignores beyond"
assert len(LONG.encode()) > 72

# (Go name, format constant, password, hash, what it stands for)
tests = [
    ("djangoArgon2id", "FormatDjangoArgon2", PW,
     django_argon2("id", PW, 2, 102400, 8, 32),
     "Django >= 3.2 (argon2-cffi >= 21.2): what a Zulip server's database holds"),
    ("djangoArgon2idUTF8", "FormatDjangoArgon2", UTF8,
     django_argon2("id", UTF8, 1, 256, 2, 16),
     "Django's encoding, cheap parameters, a 16-byte key (argon2-cffi < 21.2)"),
    ("djangoArgon2i", "FormatDjangoArgon2", PW,
     django_argon2("i", PW, 2, 512, 2, 16),
     "Django 1.10 to 3.1: argon2i, m=512, t=2, p=2"),
    ("phcArgon2idOlder", "FormatArgon2id", PW,
     argon2("id", PW, rng.randbytes(16), 3, 12288, 1, 32),
     "PHC argon2id with older parameters (OWASP's m=12 MiB, t=3)"),
    ("djangoPBKDF2", "FormatDjangoPBKDF2SHA256", PW,
     pbkdf2_sha256(PW, 10000, django_salt(12)),
     "Django 1.4's 10000 iterations and 12-character salt"),
    ("djangoPBKDF2UTF8", "FormatDjangoPBKDF2SHA256", UTF8,
     pbkdf2_sha256(UTF8, 20000, "seasalt"),
     "a UTF-8 password and a short salt"),
    ("djangoBcryptSHA256", "FormatDjangoBcryptSHA256", PW,
     bcrypt_sha256(PW, "b", 4),
     "Django's bcrypt_sha256 with the bcrypt library's $2b$"),
    ("djangoBcryptSHA256Long", "FormatDjangoBcryptSHA256", LONG,
     bcrypt_sha256(LONG, "a", 5),
     "py-bcrypt's $2a$; a password past 72 bytes, which the SHA-256 keeps whole"),
    ("bcrypt2a", "FormatBcrypt", UTF8, bcrypt(UTF8.encode(), "a", 4), "$2a$ (older PHP, Go's x/crypto)"),
    ("bcrypt2b", "FormatBcrypt", PW, bcrypt(PW.encode(), "b", 5), "$2b$ (OpenBSD, Rails)"),
    ("bcrypt2y", "FormatBcrypt", UTF8, bcrypt(UTF8.encode(), "y", 4), "$2y$ (PHP, Laravel)"),
    ("bcryptLong", "FormatBcrypt", LONG, bcrypt(LONG.encode(), "b", 4),
     "a password past 72 bytes: bcrypt itself uses only the first 72"),
]

bench = [
    ("benchDjangoArgon2", "FormatDjangoArgon2", PW, django_argon2("id", PW, 2, 102400, 8, 32), "Django's own parameters"),
    ("benchPHCArgon2id", "FormatArgon2id", PW, argon2("id", PW, rng.randbytes(16), 3, 12288, 1, 32), "older PHC parameters"),
    ("benchPBKDF2", "FormatDjangoPBKDF2SHA256", PW, pbkdf2_sha256(PW, 100000, django_salt()), "100k iterations"),
    ("benchBcryptSHA256", "FormatDjangoBcryptSHA256", PW, bcrypt_sha256(PW, "b", 10), "cost 10"),
    ("benchBcrypt", "FormatBcrypt", PW, bcrypt(PW.encode(), "y", 10), "cost 10"),
]


def go_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


with open("../vectors_test.go", "w") as out:
    out.write("// Code generated by testdata/vectors.py; DO NOT EDIT.\n\n")
    out.write("package password_test\n\n")
    out.write('import "github.com/zulipauth/zulipauth-go/backends/password"\n\n')
    out.write("// vector is a password and its hash as another system made it.\n")
    out.write("type vector struct {\n\tname     string\n\tformat   password.Format\n\tpassword string\n\thash     string\n}\n\n")
    for var, rows in (("vectors", tests), ("benchVectors", bench)):
        out.write("var %s = []vector{\n" % var)
        for name, fmt, pw, h, why in rows:
            out.write("\t// %s\n" % why)
            out.write("\t{%s, password.%s, %s, %s},\n" % (go_string(name), fmt, go_string(pw), go_string(h)))
        out.write("}\n\n")
    out.write("// djangoUnusable is what Django's set_unusable_password stores: \"!\" and 40\n")
    out.write("// random characters.\n")
    out.write("const djangoUnusable = %s\n" % go_string("!" + "".join(rng.choice(ALNUM) for _ in range(40))))
