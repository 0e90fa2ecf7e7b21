// Package wrapper is iam-kms-wrapper: it reads an MFA code from a FIFO,
// trades it with STS for session credentials, and execs the wrapped command
// (mysqld) with only those credentials in its environment.
package wrapper

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kmsguard/kmsguard/internal/awsclient"
	"github.com/kmsguard/kmsguard/internal/check"
	"github.com/kmsguard/kmsguard/internal/inifile"
)

// Defaults for the optional keys.
const (
	DefaultSocket          = "/run/kms-mfa/socket"
	DefaultSessionDuration = 43200 * time.Second
	DefaultWaitTimeout     = 5 * time.Minute
	DefaultMaxTries        = 3
	maxWaitTimeout         = 24 * time.Hour
	maxMaxTries            = 10
)

// Config is the [kms] section of the wrapper's config file.
type Config struct {
	MFASerial       string        // kms_mfa_id: the MFA device's ARN
	Socket          string        // kms_mfa_socket: absolute FIFO path
	SessionDuration time.Duration // session_duration: 900–129600 s
	WaitTimeout     time.Duration // wait_timeout: total wait for a valid code
	Region          string        // region: overrides AWS_REGION for STS
	SocketGroup     string        // socket_group: group allowed to write the FIFO
	MaxTries        int           // max_tries: codes accepted before giving up
}

var (
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	groupRE  = regexp.MustCompile(`^([a-z_][a-z0-9_.-]{0,31}|[0-9]{1,10})$`)
)

// LoadConfig reads and validates the config file at path.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig validates every key of [kms] and reports all problems at once;
// an unknown key is an error because a typo must not silently fall back to a
// default. Other sections are ignored so the file may be shared.
func ParseConfig(data []byte) (Config, error) {
	f, err := inifile.Parse(data)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{Socket: DefaultSocket, SessionDuration: DefaultSessionDuration, WaitTimeout: DefaultWaitTimeout, MaxTries: DefaultMaxTries}
	var errs []error
	for k, e := range f[""] {
		errs = append(errs, fmt.Errorf("line %d: key %q is outside the [kms] section", e.Line, k))
	}
	kms, ok := f["kms"]
	if !ok {
		return Config{}, errors.Join(append(errs, errors.New("missing [kms] section"))...)
	}
	for k, e := range kms {
		if err := cfg.set(k, e.Value); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %s: %w", e.Line, k, err))
		}
	}
	if cfg.MFASerial == "" {
		errs = append(errs, errors.New("kms_mfa_id (the MFA device ARN) is required"))
	}
	if len(errs) > 0 {
		sortErrs(errs)
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

func (c *Config) set(key, val string) error {
	var err error
	switch key {
	case "kms_mfa_id":
		if err := check.MFADeviceARN(val); err != nil {
			return err
		}
		c.MFASerial = val
	case "kms_mfa_socket":
		if !filepath.IsAbs(val) || filepath.Clean(val) != val || strings.ContainsAny(val, " \t\n'\"\\$") {
			return errors.New("must be a clean absolute path without spaces or quotes")
		}
		c.Socket = val
	case "session_duration":
		c.SessionDuration, err = parseSeconds(val, awsclient.MinSessionSeconds*time.Second, awsclient.MaxSessionSeconds*time.Second)
	case "wait_timeout":
		c.WaitTimeout, err = parseSeconds(val, time.Second, maxWaitTimeout)
	case "region":
		if !regionRE.MatchString(val) {
			return errors.New("not an AWS region name such as us-east-1")
		}
		c.Region = val
	case "socket_group":
		if !groupRE.MatchString(val) {
			return errors.New("not a group name or number")
		}
		c.SocketGroup = val
	case "max_tries":
		c.MaxTries, err = strconv.Atoi(val)
		if err != nil || c.MaxTries < 1 || c.MaxTries > maxMaxTries {
			return fmt.Errorf("must be a whole number from 1 to %d", maxMaxTries)
		}
	default:
		return errors.New("unknown key (known: kms_mfa_id, kms_mfa_socket, session_duration, wait_timeout, region, socket_group, max_tries)")
	}
	return err
}

// parseSeconds accepts whole seconds ("43200") or a Go duration ("12h").
func parseSeconds(val string, lo, hi time.Duration) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.ParseInt(val, 10, 64); err == nil {
		if n < 0 || n > int64(hi/time.Second) {
			return 0, fmt.Errorf("%s is out of range %d–%d seconds", val, lo/time.Second, hi/time.Second)
		}
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(val); err != nil {
		return 0, errors.New("must be seconds or a duration such as 12h")
	}
	if d < lo || d > hi || d%time.Second != 0 {
		return 0, fmt.Errorf("%s is out of range %d–%d whole seconds", val, lo/time.Second, hi/time.Second)
	}
	return d, nil
}

// sortErrs orders messages so the report is stable across map iteration.
func sortErrs(errs []error) {
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
}
