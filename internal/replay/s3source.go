package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Lister lists a bucket (s3.Client satisfies it); the paginator drives it.
type S3Lister = s3.ListObjectsV2APIClient

// S3Getter downloads one object (s3.Client satisfies it).
type S3Getter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3Client is what S3Source needs of S3: listing and downloading.
type S3Client interface {
	S3Lister
	S3Getter
}

// Filter prunes a trail bucket's listing by the key layout, so that what is
// excluded is never listed or read. Zero values do not filter; From and To
// are whole UTC days, both included.
type Filter struct {
	From, To time.Time
	Accounts []string
	Regions  []string
}

// S3Source is the log files of a CloudTrail trail bucket, in both layouts
// CloudTrail writes (docs/replay.md, "Reading the trail bucket"):
//
//	PREFIX/AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/*.json.gz
//	PREFIX/AWSLogs/o-ORGID/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/*.json.gz
//
// CloudTrail-Digest files (same layout) are listed within the filter and
// yielded as digests, so they are counted but not downloaded.
type S3Source struct {
	Client S3Client
	Bucket string
	Prefix string // key prefix from s3://BUCKET/PREFIX; may go down into the layout
	Filter Filter
}

// ParseS3URL splits s3://BUCKET/PREFIX; ok is false for anything else.
func ParseS3URL(u string) (bucket, prefix string, ok bool) {
	rest, found := strings.CutPrefix(u, "s3://")
	if !found {
		return "", "", false
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	return bucket, prefix, bucket != ""
}

// levels of the key layout below AWSLogs/.
type level int

const (
	lvlTop     level = iota // o-ORGID/ or ACCOUNT/
	lvlAccount              // ACCOUNT/ under an organization id
	lvlService              // CloudTrail/, CloudTrail-Digest/ (others ignored)
	lvlRegion
	lvlYear
	lvlMonth
	lvlDay
	lvlFiles
)

// walkState is where the walk is: the key prefix, the date so far and
// whether this is the digest tree.
type walkState struct {
	prefix    string
	lvl       level
	fixed     []string // path segments the user's prefix already chose
	digest    bool
	year, mon int
	yield     func(Input) error
}

// Inputs implements Source.
func (s S3Source) Inputs(ctx context.Context, yield func(Input) error) error {
	prefix := strings.TrimPrefix(s.Prefix, "/")
	var base string
	var fixed []string
	if i := strings.Index("/"+prefix, "/AWSLogs/"); i >= 0 || strings.HasSuffix("/"+prefix, "/AWSLogs") {
		if i < 0 {
			i = len(prefix) - len("AWSLogs") + 1
		}
		base = prefix[:i] + "AWSLogs/"
		rest := strings.TrimPrefix(prefix[i:], "AWSLogs")
		for _, seg := range strings.Split(strings.Trim(rest, "/"), "/") {
			if seg != "" {
				fixed = append(fixed, seg)
			}
		}
	} else {
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		base = prefix + "AWSLogs/"
	}
	return s.walk(ctx, walkState{prefix: base, lvl: lvlTop, fixed: fixed, yield: yield})
}

func (s S3Source) walk(ctx context.Context, w walkState) error {
	if w.lvl == lvlFiles {
		return s.files(ctx, w)
	}
	var children []string
	if len(w.fixed) > 0 {
		children, w.fixed = w.fixed[:1], w.fixed[1:]
	} else {
		var err error
		if children, err = s.listDirs(ctx, w.prefix); err != nil {
			return err
		}
	}
	for _, name := range children {
		next := w
		next.prefix = w.prefix + name + "/"
		next.lvl = w.lvl + 1
		if !s.accept(&next, w.lvl, name) {
			continue
		}
		if err := s.walk(ctx, next); err != nil {
			return err
		}
	}
	return nil
}

// accept decides one child of a level, pruning by the filter; it may move
// next to another level (an organization id adds one).
func (s S3Source) accept(next *walkState, lvl level, name string) bool {
	f := s.Filter
	switch lvl {
	case lvlTop:
		if strings.HasPrefix(name, "o-") {
			next.lvl = lvlAccount
			return true
		}
		next.lvl = lvlService
		return isAccountID(name) && (len(f.Accounts) == 0 || slices.Contains(f.Accounts, name))
	case lvlAccount:
		next.lvl = lvlService
		return isAccountID(name) && (len(f.Accounts) == 0 || slices.Contains(f.Accounts, name))
	case lvlService:
		next.digest = name == "CloudTrail-Digest"
		return name == "CloudTrail" || name == "CloudTrail-Digest"
	case lvlRegion:
		return len(f.Regions) == 0 || slices.Contains(f.Regions, name)
	case lvlYear:
		y, err := strconv.Atoi(name)
		next.year = y
		return err == nil && inRange(f, y, 0, 0)
	case lvlMonth:
		m, err := strconv.Atoi(name)
		next.mon = m
		return err == nil && inRange(f, next.year, m, 0)
	case lvlDay:
		d, err := strconv.Atoi(name)
		return err == nil && inRange(f, next.year, next.mon, d)
	}
	return false
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// inRange compares a year, month or day (unset parts 0) with the filter's
// days at the same precision.
func inRange(f Filter, y, m, d int) bool {
	key := func(t time.Time) int {
		k := t.Year() * 10000
		if m > 0 {
			k += int(t.Month()) * 100
		}
		if d > 0 {
			k += t.Day()
		}
		return k
	}
	v := y*10000 + m*100 + d
	if !f.From.IsZero() && v < key(f.From) {
		return false
	}
	if !f.To.IsZero() && v > key(f.To) {
		return false
	}
	return true
}

// listDirs returns the names of the "directories" directly under prefix.
func (s S3Source) listDirs(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing s3://%s/%s: %w", s.Bucket, prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/")
			if name != "" {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// files yields the objects of one day (or of what the user's prefix named
// below it).
func (s S3Source) files(ctx context.Context, w walkState) error {
	prefix := w.prefix + strings.Join(w.fixed, "/")
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing s3://%s/%s: %w", s.Bucket, prefix, err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			if strings.HasSuffix(key, "/") {
				continue
			}
			in := Input{Name: "s3://" + s.Bucket + "/" + key, Size: aws.ToInt64(obj.Size), Digest: w.digest || IsDigest(key)}
			if !in.Digest {
				if !strings.HasSuffix(key, ".json.gz") {
					continue
				}
				in.Open = func(ctx context.Context) (io.ReadCloser, error) {
					out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
					if err != nil {
						return nil, fmt.Errorf("downloading: %w", err)
					}
					return out.Body, nil
				}
			}
			if err := w.yield(in); err != nil {
				return err
			}
		}
	}
	return nil
}

// Sources reads several sources one after the other.
type Sources []Source

// Inputs implements Source.
func (ss Sources) Inputs(ctx context.Context, yield func(Input) error) error {
	for _, s := range ss {
		if err := s.Inputs(ctx, yield); err != nil {
			return err
		}
	}
	return nil
}

// NewS3Client builds the S3 client of s3:// inputs from the SDK's default
// configuration (credential chain, AWS_ENDPOINT_URL), an optional profile,
// and the bucket's region: region, else the configuration's, else fallback
// (the stack's region, where the trail bucket usually is). With a custom
// endpoint (an emulator, a gateway) it uses path-style addressing, which
// such endpoints need because BUCKET.host does not resolve.
func NewS3Client(ctx context.Context, profile, region, fallback string) (*s3.Client, error) {
	var opts []func(*config.LoadOptions) error
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration (--profile, AWS_PROFILE): %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = fallback
	}
	if cfg.Region == "" {
		return nil, errors.New("no region for the trail bucket: pass --bucket-region or set AWS_REGION")
	}
	pathStyle := os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != "" || cfg.BaseEndpoint != nil
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }), nil
}
