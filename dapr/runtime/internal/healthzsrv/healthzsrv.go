// Package healthzsrv serves the /healthz endpoint of the control-plane
// services (placement, scheduler) on a chosen listen address.
//
// Dapr's own pkg/healthz/server (v1.18.x) always listens on ":<port>", i.e. on
// every interface, and ignores the --healthz-listen-address flag that
// cmd/placement and cmd/scheduler parse. This package is the same small
// server with the listen address honoured, so that everything we run binds to
// 127.0.0.1 only.
package healthzsrv

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/dapr/dapr/pkg/healthz"
	"github.com/dapr/kit/logger"
)

// Options configures the server.
type Options struct {
	Log           logger.Logger
	Healthz       healthz.Healthz
	ListenAddress string // "" means every interface, like upstream.
	Port          int
	// Extra JSON endpoints, path -> getter (e.g. placement's /placement/state).
	JSON map[string]func(ctx context.Context) (any, error)
}

// Server is a runner for concurrency.RunnerManager.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	htarget healthz.Target
}

// New builds the server and registers it as a healthz target.
func New(opts Options) *Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !opts.Healthz.IsReady() {
			opts.Log.WithFields(map[string]any{"targets": opts.Healthz.GetUnhealthyTargets()}).Debug("targets are unhealthy")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	for path, get := range opts.JSON {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			v, err := get(r.Context())
			if err == nil {
				var b []byte
				if b, err = json.Marshal(v); err == nil {
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write(b)
					return
				}
			}
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(err.Error()))
		})
	}
	return &Server{opts: opts, mux: mux, htarget: opts.Healthz.AddTarget("healthz-server")}
}

// Start serves until ctx is cancelled.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(s.opts.ListenAddress, strconv.Itoa(s.opts.Port)))
	if err != nil {
		return err
	}
	srv := &http.Server{ //nolint:gosec
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	serveErr := make(chan error, 1)
	go func() {
		s.opts.Log.Infof("Healthz server is listening on %s", ln.Addr())
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
			return
		}
		serveErr <- nil
	}()
	s.htarget.Ready()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	s.opts.Log.Info("Healthz server is shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(srv.Shutdown(shutdownCtx), <-serveErr)
}

// Address picks the healthz listen address: --healthz-listen-address if
// given, else the service's --listen-address (upstream would use every
// interface).
func Address(healthzListenAddress, listenAddress string) string {
	if healthzListenAddress != "" {
		return healthzListenAddress
	}
	return listenAddress
}
