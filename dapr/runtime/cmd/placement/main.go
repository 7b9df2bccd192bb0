// Command placement is dapr's actor placement service
// (github.com/dapr/dapr/cmd/placement, same flags, same packages), with one
// change: its /healthz server listens on --healthz-listen-address, or else on
// --listen-address, instead of on every interface (upstream ignores that
// flag). Everything else is wired exactly as in dapr's cmd/placement/app.
package main

import (
	"context"
	"os"

	"github.com/dapr/dapr/cmd/placement/options"
	"github.com/dapr/dapr/pkg/buildinfo"
	"github.com/dapr/dapr/pkg/healthz"
	"github.com/dapr/dapr/pkg/metrics"
	"github.com/dapr/dapr/pkg/modes"
	"github.com/dapr/dapr/pkg/placement"
	"github.com/dapr/dapr/pkg/placement/monitoring"
	"github.com/dapr/dapr/pkg/security"
	"github.com/dapr/kit/concurrency"
	"github.com/dapr/kit/logger"
	"github.com/dapr/kit/signals"

	"approvals/daprruntime/internal/healthzsrv"
)

var log = logger.NewLogger("dapr.placement")

func main() {
	opts, err := options.New(os.Args[1:])
	if err != nil {
		log.Fatal(err)
	}
	if err = logger.ApplyOptionsToLoggers(&opts.Logger); err != nil {
		log.Fatal(err)
	}
	log.Infof("Starting Dapr Placement Service (approvals build) -- version %s -- commit %s", buildinfo.Version(), buildinfo.Commit())
	log.Infof("Log level set to: %s", opts.Logger.OutputLevel)

	hz := healthz.New()
	metricsExporter := metrics.New(metrics.Options{
		Log:           log,
		Enabled:       opts.Metrics.Enabled(),
		Namespace:     metrics.DefaultMetricNamespace,
		Port:          opts.Metrics.Port(),
		Healthz:       hz,
		ListenAddress: opts.PlacementListenAddress, // as upstream
	})
	if err = monitoring.InitMetrics(); err != nil {
		log.Fatal(err)
	}

	ctx := signals.Context()
	secProvider, err := security.New(ctx, security.Options{
		SentryAddress:           opts.SentryAddress,
		ControlPlaneTrustDomain: opts.TrustDomain,
		ControlPlaneNamespace:   security.CurrentNamespace(),
		TrustAnchorsFile:        &opts.TrustAnchorsFile,
		AppID:                   "dapr-placement",
		MTLSEnabled:             opts.TLSEnabled,
		Mode:                    modes.DaprMode(opts.Mode),
		Healthz:                 hz,
	})
	if err != nil {
		log.Fatal(err)
	}

	var place *placement.Placement
	placeReady := make(chan struct{})
	var extra map[string]func(context.Context) (any, error)
	if opts.MetadataEnabled {
		extra = map[string]func(context.Context) (any, error){
			"/placement/state": func(ctx context.Context) (any, error) {
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-placeReady:
					return place.StatePlacementTables(ctx)
				}
			},
		}
	}
	healthSrv := healthzsrv.New(healthzsrv.Options{
		Log:           log,
		Healthz:       hz,
		ListenAddress: healthzsrv.Address(opts.HealthzListenAddress, opts.PlacementListenAddress),
		Port:          opts.HealthzPort,
		JSON:          extra,
	})

	err = concurrency.NewRunnerManager(
		metricsExporter.Start,
		healthSrv.Start,
		secProvider.Run,
		func(ctx context.Context) error {
			secHandler, err := secProvider.Handler(ctx)
			if err != nil {
				return err
			}
			place, err = placement.New(placement.Options{
				NodeID:                    opts.RaftID,
				Port:                      opts.PlacementPort,
				ListenAddress:             opts.PlacementListenAddress,
				Security:                  secHandler,
				Healthz:                   hz,
				KeepAliveTime:             opts.KeepAliveTime,
				KeepAliveTimeout:          opts.KeepAliveTimeout,
				ReplicationFactor:         int64(opts.ReplicationFactor),
				Peers:                     opts.RaftPeers,
				DisseminateTimeout:        opts.DisseminateTimeout,
				DisseminateCoalesceWindow: opts.DisseminateCoalesceWindow,
			})
			if err != nil {
				return err
			}
			close(placeReady)
			return place.Run(ctx)
		},
	).Run(ctx)
	if err != nil {
		log.Fatal(err)
	}
	log.Info("Placement service shut down gracefully")
}
