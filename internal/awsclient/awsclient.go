// Package awsclient holds what both operator tools need from AWS: loading the
// usual SDK configuration (so AWS_ENDPOINT_URL, profiles and regions work, and
// an emulator can stand in), small interfaces over STS and KMS so tests can
// inject fakes, MFA sessions, and one-line explanations of AWS errors.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// SessionTokenGetter is the one STS call the tools make.
type SessionTokenGetter interface {
	GetSessionToken(ctx context.Context, in *sts.GetSessionTokenInput, opts ...func(*sts.Options)) (*sts.GetSessionTokenOutput, error)
}

// Session holds temporary MFA-authenticated credentials. String never shows
// the secret parts, so a stray %v cannot leak them.
type Session struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// String describes the session without any secret.
func (s Session) String() string {
	return "session credentials expiring " + s.Expiration.UTC().Format(time.RFC3339)
}

// Provider returns a static provider for these credentials, for KMS clients.
func (s Session) Provider() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(s.AccessKeyID, s.SecretAccessKey, s.SessionToken)
}

// MinSessionSeconds and MaxSessionSeconds bound GetSessionToken for IAM users.
const (
	MinSessionSeconds = 900
	MaxSessionSeconds = 129600
)

// GetSession trades an MFA code for temporary credentials.
func GetSession(ctx context.Context, c SessionTokenGetter, serial, code string, seconds int32) (Session, error) {
	out, err := c.GetSessionToken(ctx, &sts.GetSessionTokenInput{
		DurationSeconds: aws.Int32(seconds),
		SerialNumber:    aws.String(serial),
		TokenCode:       aws.String(code),
	})
	if err != nil {
		return Session{}, fmt.Errorf("GetSessionToken: %w", err)
	}
	cr := out.Credentials
	if cr == nil || cr.AccessKeyId == nil || cr.SecretAccessKey == nil || cr.SessionToken == nil {
		return Session{}, errors.New("GetSessionToken: response without credentials")
	}
	s := Session{AccessKeyID: *cr.AccessKeyId, SecretAccessKey: *cr.SecretAccessKey, SessionToken: *cr.SessionToken}
	if cr.Expiration != nil {
		s.Expiration = *cr.Expiration
	}
	return s, nil
}

// ErrNoRegion is returned when neither the caller nor the AWS configuration names a region; each tool
// wraps it with the setting that supplies one (a flag for kms-manage-key, a config key for the wrapper).
var ErrNoRegion = errors.New("no AWS region")

// LoadConfig loads the default SDK configuration with an optional profile and
// region, and fails early when no region is known rather than at the first call.
func LoadConfig(ctx context.Context, profile, region string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, ErrNoRegion
	}
	return cfg, nil
}

// LoadLongTermConfig is LoadConfig with fixed long-term credentials, so an
// inherited session token or profile can never be used for GetSessionToken
// (which needs an IAM user's own keys).
func LoadLongTermConfig(ctx context.Context, region, accessKeyID, secret string) (aws.Config, error) {
	if accessKeyID == "" || secret == "" {
		return aws.Config{}, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of the key user must be set (systemd EnvironmentFile)")
	}
	cfg, err := LoadConfig(ctx, "", region)
	if errors.Is(err, ErrNoRegion) {
		return aws.Config{}, fmt.Errorf("%w: set region = REGION in the [kms] section of the wrapper config, or AWS_REGION in the EnvironmentFile", err)
	}
	if err != nil {
		return aws.Config{}, err
	}
	cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(accessKeyID, secret, ""))
	return cfg, nil
}
