package replay

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// benchRecord is a realistic ~1.3 kB CloudTrail KMS record.
func benchRecord(i int) string {
	names := []string{"Decrypt", "GenerateDataKeyWithoutPlaintext", "DescribeKey", "Encrypt", "DisableKey", "ListAliases"}
	errs := []string{`"errorCode":"AccessDenied",`, "", "", "", "", "", "", ""}
	return fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE%04d","arn":"arn:aws:iam::111122223333:user/user%d","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEEXAMPLE","userName":"user%d","sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"2024-05-01T10:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2024-05-01T10:11:%02dZ","eventSource":"kms.amazonaws.com","eventName":%q,"awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.%d","userAgent":"aws-sdk-cpp/1.9.0 Linux/5.10 x86_64 GCC/10",%s"requestParameters":{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"purpose":"mariadb"}},"responseElements":null,"requestID":"11111111-2222-3333-4444-%012d","eventID":"aaaaaaaa-bbbb-cccc-dddd-%012d","readOnly":%v,"resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":%q}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"kms.eu-west-1.amazonaws.com"}}`,
		i%1000, i%50, i%50, i%60, names[i%len(names)], i%250, errs[i%len(errs)], i, i, i%len(names) != 4 && i%len(names) != 3, keyARN)
}

// writeBenchFile writes n records as gzipped CloudTrail log files of
// 1000 records each, concatenated gzip members in one file (as a month of
// logs cat'ed together), and returns its path.
func writeBenchFile(tb testing.TB, dir string, n int) string {
	path := filepath.Join(dir, "month.json.gz")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	for start := 0; start < n; start += 1000 {
		zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
		io.WriteString(zw, `{"Records":[`)
		for i := start; i < start+1000 && i < n; i++ {
			if i > start {
				io.WriteString(zw, ",")
			}
			io.WriteString(zw, benchRecord(i))
		}
		io.WriteString(zw, "]}")
		zw.Close()
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	return path
}

// BenchmarkReplay1M is the end-to-end figure in docs/replay.md: one
// million records (gunzip, stream, decode, wrap, match the test
// template's five rules, statistics), one op = the whole million.
func BenchmarkReplay1M(b *testing.B) {
	const n = 1_000_000
	path := writeBenchFile(b, b.TempDir(), n)
	res, _ := NewResolver(keyARN)
	rules, _ := loadTestRules(b, res)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		sum, err := Replay([]string{path}, Options{Rules: rules, Top: 10}, io.Discard)
		if err != nil || sum.Records != n || sum.Problems != 0 {
			b.Fatalf("%v %+v", err, sum)
		}
		b.ReportMetric(float64(time.Since(start).Nanoseconds())/n, "ns/record")
	}
}

// BenchmarkRecord is one record as a worker handles it: the projecting
// scanner, the envelope, the prefilter and the test template's rules.
func BenchmarkRecord(b *testing.B) {
	rec := []byte(benchRecord(1))
	res, _ := NewResolver(keyARN)
	rules, _ := loadTestRules(b, res)
	eng, err := newEngine(rules)
	if err != nil || eng.proj == nil {
		b.Fatal(err)
	}
	w := newWorker(eng, false)
	w.newBatch()
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		v, n, st := w.proj.scan(rec)
		if st != scanOK || n != len(rec) {
			b.Fatalf("scan: status %d, %d of %d bytes", st, n, len(rec))
		}
		w.record(v, w.proj.fields())
		if w.res.records >= batchRecords { // as the merger would
			putBatch(w.res)
			w.newBatch()
		}
	}
}

// BenchmarkVersusReference replays each corpus (the synthetic KMS records
// through the test template, and records cycled from the labelled corpus
// through the golden template's rules), 1,000-record log files, and reads
// the same files with the reference (referenceDecode: the same gunzip, then
// encoding/json into maps), taking turns every benchInterleave files so
// that both sides meet the same load on a shared machine, each turn after a
// garbage collection so that neither side pays for the other's garbage (the
// reference makes far more of it). It reports both
// sides per record and their ratio, in elapsed time ("x-reference") and in
// CPU time used by the process ("x-reference-cpu"): on a shared machine only
// the side-by-side ratios are meaningful, and on one core the CPU-time ratio
// is the steadier of the two, since time spent waiting for the core counts
// in neither side. Run with -cpu 1,2 to see the scaling: the reference stays
// on one core, replay uses GOMAXPROCS workers.
func BenchmarkVersusReference(b *testing.B) {
	n := 100_000
	for _, c := range benchCorpora(b, n) {
		b.Run(c.name, func(b *testing.B) {
			var refNs, repNs, refCPU, repCPU float64
			for i := 0; i < b.N; i++ {
				for k := 0; k < len(c.files); k += benchInterleave {
					files := c.files[k:min(k+benchInterleave, len(c.files))]
					runtime.GC() // each side pays for its own garbage, not the other's
					start, cpu := time.Now(), processCPU()
					got, err := referenceDecode(files)
					if err != nil || got != len(files)*benchFileRecords {
						b.Fatalf("reference: %d records, %v", got, err)
					}
					refNs += float64(time.Since(start).Nanoseconds())
					refCPU += float64((processCPU() - cpu).Nanoseconds())
					runtime.GC()
					start, cpu = time.Now(), processCPU()
					sum, err := Replay(files, Options{Rules: c.rules, Top: 10}, io.Discard)
					if err != nil || sum.Records != got || sum.Problems != 0 || sum.Files != len(files) {
						b.Fatalf("%v %+v", err, sum)
					}
					repNs += float64(time.Since(start).Nanoseconds())
					repCPU += float64((processCPU() - cpu).Nanoseconds())
				}
			}
			records := float64(b.N * c.n)
			b.ReportMetric(refNs/records, "ref-ns/record")
			b.ReportMetric(repNs/records, "replay-ns/record")
			b.ReportMetric(refNs/repNs, "x-reference")
			b.ReportMetric(refCPU/records, "ref-cpu-ns/record")
			b.ReportMetric(repCPU/records, "replay-cpu-ns/record")
			if repCPU > 0 {
				b.ReportMetric(refCPU/repCPU, "x-reference-cpu")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// benchInterleave is how many log files each side reads in its turn.
const benchInterleave = 20

// BenchmarkReplayCorpora replays both corpora of BenchmarkVersusReference
// and nothing else. Its CPU profile is the profile the replay binary is
// built with (cmd/kmsguard-replay/default.pgo, `make pgo`): a profile of the
// reference's work would tune encoding/json, which replay does not use.
func BenchmarkReplayCorpora(b *testing.B) {
	for _, c := range benchCorpora(b, 100_000) {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				sum, err := Replay(c.files, Options{Rules: c.rules, Top: 10}, io.Discard)
				if err != nil || sum.Records != c.n || sum.Problems != 0 {
					b.Fatalf("%v %+v", err, sum)
				}
			}
		})
	}
}

// BenchmarkScaling measures replay's scaling side by side: each round
// replays the whole corpus (100 log files, one call, as a month of files is
// replayed) on one core (GOMAXPROCS 1) and then on every core the benchmark
// runs with (-cpu), and it reports the ratio of the two elapsed times
// ("x-scaling"; linear is the number of cores). Taking turns puts both under
// the same load on a shared machine; BenchmarkVersusReference's per-core
// figures come from runs minutes apart, in 20-file calls (each with its own
// start and tail, when one worker may wait for the other).
func BenchmarkScaling(b *testing.B) {
	for _, c := range benchCorpora(b, 100_000) {
		b.Run(c.name, func(b *testing.B) {
			cores := runtime.GOMAXPROCS(0) // as -cpu sets it for this run
			if cores == 1 {
				b.Skip("one core: nothing to scale to")
			}
			var one, all time.Duration
			for i := 0; i < b.N; i++ {
				for _, procs := range []int{1, cores} {
					prev := runtime.GOMAXPROCS(procs)
					runtime.GC()
					start := time.Now()
					sum, err := Replay(c.files, Options{Rules: c.rules, Top: 10}, io.Discard)
					elapsed := time.Since(start)
					runtime.GOMAXPROCS(prev)
					if err != nil || sum.Records != c.n || sum.Problems != 0 {
						b.Fatalf("%v %+v", err, sum)
					}
					if procs == 1 {
						one += elapsed
					} else {
						all += elapsed
					}
				}
			}
			records := float64(b.N * c.n)
			b.ReportMetric(float64(one.Nanoseconds())/records, "one-core-ns/record")
			b.ReportMetric(float64(all.Nanoseconds())/records, "all-cores-ns/record")
			b.ReportMetric(one.Seconds()/all.Seconds(), "x-scaling")
			b.ReportMetric(float64(cores), "cores")
			b.ReportMetric(0, "ns/op")
		})
	}
}
