package webhook

import (
	"io"
	"testing"
	"time"

	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
)

// runConfig is a Config as `serve` builds one: on loopback ports, with the
// certificate files given (written or not), JSON logs to logs, and an API
// server that is not there.
func runConfig(t *testing.T, certFile, keyFile string, logs io.Writer) *Config {
	t.Helper()
	enc := zap.NewProductionEncoderConfig()
	log := zapr.NewLogger(zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(logs)), zapcore.InfoLevel)))
	return &Config{
		Listen:            "127.0.0.1:0",
		MetricsListen:     "127.0.0.1:0",
		TLSCertFile:       certFile,
		TLSPrivateKeyFile: keyFile,
		AdmissionTimeout:  8 * time.Second,
		Handler: HandlerConfig{
			Analyzer:         analysis.New(newInspector(t, imageinspect.WithKeychain(anonymous))),
			DefaultMode:      ModeAudit,
			DefaultSizeLimit: resource.MustParse("1Gi"),
			OnRegistryError:  AllowOnRegistryError,
			Metrics:          NewMetrics(),
		},
		RESTConfig: &rest.Config{Host: "https://127.0.0.1:1", BearerToken: "not-a-secret",
			TLSClientConfig: rest.TLSClientConfig{Insecure: true}},
		Logger:      log,
		PullSecrets: true,
	}
}

// newInspector is imageinspect.New, failing the test on an option it
// refuses.
func newInspector(t *testing.T, opts ...imageinspect.Option) *imageinspect.Inspector {
	t.Helper()
	in, err := imageinspect.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return in
}
