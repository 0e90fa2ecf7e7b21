package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kmsguard/kmsguard/internal/testmoto"
)

// trailMonth writes May 2024 of a trail bucket as CloudTrail lays it out: a
// standalone account and an organization member account, two regions, one
// log file (records cycled from the labelled corpus, their account and region
// set to the path's) and one digest file per day. Keys are relative to the
// bucket root.
func trailMonth(t *testing.T) map[string][]byte {
	t.Helper()
	recs := labelledRecords(t)
	files := map[string][]byte{}
	i := 0
	for _, acct := range []string{"111122223333", "o-exampleorg/444455556666"} {
		id := acct[strings.LastIndex(acct, "/")+1:]
		for _, region := range []string{"eu-west-1", "us-east-1"} {
			for day := 1; day <= 31; day++ {
				dir := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/2024/05/%02d/", acct, region, day)
				var b bytes.Buffer
				b.WriteString(`{"Records":[`)
				for j := 0; j < 12; j++ {
					if j > 0 {
						b.WriteString(",")
					}
					r := bytes.ReplaceAll(recs[i%len(recs)], []byte(`"recipientAccountId":"111122223333"`), []byte(`"recipientAccountId":"`+id+`"`))
					r = bytes.ReplaceAll(r, []byte(`"awsRegion":"us-east-1"`), []byte(`"awsRegion":"`+region+`"`))
					b.Write(r)
					i++
				}
				b.WriteString("]}")
				files[dir+fmt.Sprintf("%s_CloudTrail_%s_202405%02dT1200Z_abc.json.gz", id, region, day)] = gz(b.Bytes())
				digest := fmt.Sprintf("AWSLogs/%s/CloudTrail-Digest/%s/2024/05/%02d/%s_CloudTrail-Digest_%s_trail_%s_202405%02dT130000Z.json.gz", acct, region, day, id, region, region, day)
				files[digest] = gz([]byte(`{"awsAccountId":"` + id + `","logFiles":[]}`))
			}
		}
	}
	return files
}

// recordingClient is the real S3 client, noting which prefixes were listed
// and which keys downloaded.
type recordingClient struct {
	*s3.Client
	mu     sync.Mutex
	listed []string
	got    []string
}

func (r *recordingClient) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	r.mu.Lock()
	r.listed = append(r.listed, aws.ToString(in.Prefix))
	r.mu.Unlock()
	return r.Client.ListObjectsV2(ctx, in, opts...)
}

func (r *recordingClient) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	r.mu.Lock()
	r.got = append(r.got, aws.ToString(in.Key))
	r.mu.Unlock()
	return r.Client.GetObject(ctx, in, opts...)
}

func motoBucket(t *testing.T, files map[string][]byte, keyPrefix string) *s3.Client {
	t.Helper()
	cfg := testmoto.Config(t, testmoto.Endpoint(t))
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail")}); err != nil {
		t.Fatal(err)
	}
	for k, v := range files {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("trail"), Key: aws.String(keyPrefix + k), Body: bytes.NewReader(v)}); err != nil {
			t.Fatal(err)
		}
	}
	return client
}

func writeTree(t *testing.T, files map[string][]byte, keep func(key string) bool) string {
	dir := t.TempDir()
	for k, v := range files {
		if keep != nil && !keep(k) {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(k))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, v, 0o644)
	}
	return dir
}

func replayJSON(t *testing.T, src Source, rules Rules) (string, string, *Summary) {
	t.Helper()
	var show, probs bytes.Buffer
	sum, err := ReplaySource(context.Background(), src, Options{Rules: rules, Top: 5, Show: &show, Readers: 8}, &probs)
	if err != nil {
		t.Fatalf("%v (%s)", err, probs.String())
	}
	js, _ := json.MarshalIndent(sum, "", " ")
	return string(js), show.String(), sum
}

func TestTrailBucketReplayEqualsTheSameFilesOnDisk(t *testing.T) {
	files := trailMonth(t)
	client := &recordingClient{Client: motoBucket(t, files, "team/")}
	rules := goldenRules(t)

	local, localShow, lsum := replayJSON(t, LocalSource{Paths: []string{writeTree(t, files, nil)}}, rules)
	remote, remoteShow, rsum := replayJSON(t, S3Source{Client: client, Bucket: "trail", Prefix: "team"}, rules)
	if remote != local || remoteShow != localShow {
		t.Errorf("S3 replay differs from the same files on disk:\nS3:    %.600s\nlocal: %.600s", remote, local)
	}
	if rsum.Files != 124 || rsum.DigestFiles != 124 || len(rsum.Places) != 4 || lsum.DigestFiles != 124 {
		t.Errorf("files %d, digests %d (local %d), places %+v", rsum.Files, rsum.DigestFiles, lsum.DigestFiles, rsum.Places)
	}
	for _, k := range client.got {
		if IsDigest(k) {
			t.Errorf("digest file downloaded: %s", k)
		}
	}
}

func TestTrailBucketFiltersPruneTheListing(t *testing.T) {
	files := trailMonth(t)
	client := &recordingClient{Client: motoBucket(t, files, "")}
	rules := goldenRules(t)
	from, _ := time.Parse(time.DateOnly, "2024-05-10")
	to, _ := time.Parse(time.DateOnly, "2024-05-12")
	f := Filter{From: from, To: to, Accounts: []string{"444455556666"}, Regions: []string{"eu-west-1"}}
	keep := func(k string) bool {
		return strings.Contains(k, "/444455556666/") && strings.Contains(k, "/eu-west-1/") &&
			(strings.Contains(k, "/2024/05/10/") || strings.Contains(k, "/2024/05/11/") || strings.Contains(k, "/2024/05/12/"))
	}
	local, _, _ := replayJSON(t, LocalSource{Paths: []string{writeTree(t, files, keep)}}, rules)
	remote, _, rsum := replayJSON(t, S3Source{Client: client, Bucket: "trail", Filter: f}, rules)
	if remote != local || rsum.Files != 3 || rsum.DigestFiles != 3 {
		t.Errorf("filtered S3 replay (%d files, %d digests) differs from the matching files on disk:\nS3:    %.400s\nlocal: %.400s", rsum.Files, rsum.DigestFiles, remote, local)
	}
	for _, p := range client.listed {
		if strings.Contains(p, "111122223333") || strings.Contains(p, "us-east-1") || strings.Contains(p, "/05/01/") {
			t.Errorf("listed outside the filter: %s", p)
		}
	}
	if len(client.got) != 3 || slices.ContainsFunc(client.got, func(k string) bool { return !keep(k) }) {
		t.Errorf("downloaded %v", client.got)
	}
}

func TestParseS3URL(t *testing.T) {
	for in, want := range map[string][2]string{"s3://b/AWSLogs/": {"b", "AWSLogs/"}, "s3://b": {"b", ""}} {
		b, p, ok := ParseS3URL(in)
		if !ok || b != want[0] || p != want[1] {
			t.Errorf("ParseS3URL(%q) = %q %q %v", in, b, p, ok)
		}
	}
	if _, _, ok := ParseS3URL("s3:///x"); ok {
		t.Error("empty bucket accepted")
	}
}
