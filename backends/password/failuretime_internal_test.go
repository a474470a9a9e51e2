package password

import (
	"fmt"
	"strings"
	"testing"
)

// Hashes at the bounds, of the password "costliest": an argon2id hash of
// 128 MiB and 2 passes, bcrypt at MaxBcryptCost (12), pbkdf2_sha256 at
// MaxPBKDF2Iterations (1,200,000). Computed once, here, so that the test
// spends its time verifying, not hashing.
var costliestHashes = []string{
	"$argon2id$v=19$m=131072,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$uvL5acrwRfVGESwadhNPVKj3c0fBTVl3V5YZxu2YpD0",
	"$2a$12$.OnXiscb6HUbsjMKlDvNJ.nQKsrdvHKbrVMp0jWPavgRxXwVzyCc6",
	"pbkdf2_sha256$1200000$0123456789abcdef$LC6YoocQADJDPgx5pXw2zBJ/bDtNYCPGJn48GiV3os0=",
}

// The calibrated failure time must cover the costliest hash each format may
// have within the bounds, verified here for real, not extrapolated. Each
// format's estimate is made right before its real verification, both the
// faster of two runs (the calibration's rule), so that other work on the
// machine slows both alike. Other work can still slow one and not the
// other (under -race, with other packages' tests beside it, one run saw
// bcrypt's calibration swing from 5.7 to 16 s): a format fails only when
// it is not covered in any of three tries, which a calibration that
// underestimates the format fails every time.
func TestCalibratedFailureTimeCoversTheCostliestHashes(t *testing.T) {
	all := append([]Format{FormatArgon2id}, legacyFormats...)
	const tries = 3
	for _, h := range costliestHashes {
		stored, err := decodeHash(h)
		if err != nil {
			t.Fatalf("a hash at the bounds does not decode: %v", err)
		}
		var failures []string
		for range tries {
			failure := failureTimeOf(measureCosts(), all)
			took := fastest(func() { stored.matches("wrong") })
			t.Logf("%s at the bounds: %v; failure time %v", stored.format(), took, failure)
			if took <= failure {
				break
			}
			failures = append(failures, fmt.Sprintf("%v > %v", took, failure))
		}
		if len(failures) == tries {
			t.Errorf("a wrong password for %s at the bounds takes longer than the failure time in %d tries (%s): its failures would tell its accounts",
				stored.format(), tries, strings.Join(failures, ", "))
		}
	}
}
