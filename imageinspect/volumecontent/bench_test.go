package volumecontent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchImage makes a 200 MiB image: three base layers and a top one, 5,000
// files each of 0-20 KiB of incompressible bytes, so that the compressed
// size is the image's size; the top layer ships /data.
func benchImage(b *testing.B) (base []*memLayer, top, otherTop *memLayer) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 1<<20) // repeats 1 MiB apart: beyond gzip's window
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	mk := func(prefix string) *memLayer {
		var entries []tarEntry
		for i := range 5000 {
			entries = append(entries, file(fmt.Sprintf("%s/d%02d/f%04d", prefix, i%50, i), int64(rng.IntN(20<<10))))
		}
		return newMemLayer(gzipBytes(b, tarWithData(b, noise, entries)))
	}
	for i := range 3 {
		base = append(base, mk(fmt.Sprintf("usr/lib/l%d", i)))
	}
	return base, mk("data"), mk("srv")
}

// BenchmarkScan200MiB: make bench-content.
func BenchmarkScan200MiB(b *testing.B) {
	base, top, otherTop := benchImage(b)
	image := layers(append(append([]*memLayer{}, base...), top)...)
	var size int64
	for _, l := range image {
		size += l.Size()
	}
	b.Logf("image: %d layers, %.1f MiB compressed", len(image), float64(size)/(1<<20))
	ctx := context.Background()
	report := func(b *testing.B, st Stats) {
		b.ReportMetric(float64(st.BytesRead)/(1<<20), "MiB-read/op")
		b.ReportMetric(float64(st.LayersRead), "layers-read/op")
	}
	b.Run("cold", func(b *testing.B) {
		var st Stats
		for range b.N {
			var got []Content
			got, st = NewScanner().Scan(ctx, image, []string{"/data"})
			if got[0].State != Populated {
				b.Fatalf("%+v", got[0])
			}
		}
		report(b, st)
	})
	b.Run("base layers cached", func(b *testing.B) {
		var st Stats
		for range b.N {
			b.StopTimer()
			s := NewScanner()
			s.Scan(ctx, layers(append(append([]*memLayer{}, base...), otherTop)...), []string{"/srv"})
			b.StartTimer()
			var got []Content
			got, st = s.Scan(ctx, image, []string{"/data"})
			if got[0].State != Populated {
				b.Fatalf("%+v", got[0])
			}
		}
		report(b, st)
	})
}
