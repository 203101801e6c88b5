package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// CertManager writes the serving certificate files and keeps them current
// (`serve --manage-certs`: *certs.Manager). Run waits for its first files
// before it loads them.
type CertManager interface {
	Run(ctx context.Context) error
	Ready() <-chan struct{}
}

// servingCert is the certificate the HTTPS server presents, nil until loaded.
type servingCert struct {
	watcher atomic.Pointer[certwatcher.CertWatcher]
}

func (s *servingCert) loaded() bool {
	w := s.watcher.Load()
	if w == nil {
		return false
	}
	c, _ := w.GetCertificate(nil)
	return c != nil
}

func (s *servingCert) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	w := s.watcher.Load()
	if w == nil {
		return nil, fmt.Errorf("no serving certificate loaded yet")
	}
	return w.GetCertificate(hello)
}

// certPollInterval is how often the certificate files are read again
// when they cannot be watched, as certwatcher itself polls.
const certPollInterval = 10 * time.Second

// load waits for the manager's first files, if there is a manager, then
// reads the files and watches them: certwatcher reads them again when they
// change (a rotated Secret, the manager's renewal), so a new certificate is
// served without a restart. The manager runs, and the files are watched,
// in bg: a manager that fails is fatal, before its first files or after.
func (s *servingCert) load(ctx context.Context, cfg *Config, client kubernetes.Interface, bg *background, log logr.Logger) error {
	if cfg.NewCertManager != nil {
		m, err := cfg.NewCertManager(client)
		if err != nil {
			return fmt.Errorf("starting the certificate manager: %w", err)
		}
		bg.run(ctx, func(ctx context.Context) error {
			err := m.Run(ctx)
			if err == nil && ctx.Err() == nil {
				err = errors.New("it stopped")
			}
			if err != nil {
				return fmt.Errorf("managing the serving certificate: %w", err)
			}
			return nil
		})
		log.Info("waiting for the certificate manager to write the serving certificate")
		select {
		case <-m.Ready():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w, err := certwatcher.New(cfg.TLSCertFile, cfg.TLSPrivateKeyFile)
	if err != nil {
		return fmt.Errorf("loading the serving certificate: %w", err)
	}
	bg.run(ctx, func(ctx context.Context) error {
		if err := w.Start(ctx); err != nil && ctx.Err() == nil {
			// Not fatal: the certificate is served, and polling sees a
			// rotation as the watch would, within certPollInterval.
			log.Error(err, "watching the serving certificate files; reading them every "+certPollInterval.String()+" instead")
			pollCertificate(ctx, w, log)
		}
		return nil
	})
	s.watcher.Store(w)
	return nil
}

// pollCertificate reads the certificate files every certPollInterval
// until ctx is done.
func pollCertificate(ctx context.Context, w *certwatcher.CertWatcher, log logr.Logger) {
	t := time.NewTicker(certPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := w.ReadCertificate(); err != nil {
				log.Error(err, "reading the serving certificate files again")
			}
		}
	}
}

// tlsConfig serves the loaded certificate, TLS 1.2 at least.
func (s *servingCert) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.GetCertificate}
}

// http1Only is what controller-runtime's webhook server does by default:
// HTTP/2 stream resets (CVE-2023-44487) cost a server more than a client,
// and the API server does well with HTTP/1.1.
func http1Only() *http.Protocols {
	p := &http.Protocols{}
	p.SetHTTP1(true)
	return p
}
