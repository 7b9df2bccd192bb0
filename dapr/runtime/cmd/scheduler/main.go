// Command scheduler is dapr's scheduler service
// (github.com/dapr/dapr/cmd/scheduler, same flags, same packages), with one
// change: its /healthz server listens on --healthz-listen-address, or else on
// --listen-address, instead of on every interface (upstream ignores that
// flag). Everything else is wired exactly as in dapr's cmd/scheduler/app.
package main

import (
	"context"
	"os"

	"github.com/dapr/dapr/cmd/scheduler/options"
	"github.com/dapr/dapr/pkg/buildinfo"
	"github.com/dapr/dapr/pkg/healthz"
	"github.com/dapr/dapr/pkg/metrics"
	"github.com/dapr/dapr/pkg/modes"
	"github.com/dapr/dapr/pkg/scheduler/monitoring"
	"github.com/dapr/dapr/pkg/scheduler/server"
	"github.com/dapr/dapr/pkg/security"
	"github.com/dapr/kit/concurrency"
	"github.com/dapr/kit/logger"
	"github.com/dapr/kit/signals"

	"approvals/daprruntime/internal/healthzsrv"
)

var log = logger.NewLogger("dapr.scheduler")

func main() {
	opts, err := options.New(os.Args[1:])
	if err != nil {
		log.Fatal(err)
	}
	if err = logger.ApplyOptionsToLoggers(&opts.Logger); err != nil {
		log.Fatal(err)
	}
	log.Infof("Starting Dapr Scheduler Service (approvals build) -- version %s -- commit %s", buildinfo.Version(), buildinfo.Commit())
	log.Infof("Log level set to: %s", opts.Logger.OutputLevel)

	hz := healthz.New()
	metricsExporter := metrics.New(metrics.Options{
		Log:           log,
		Enabled:       opts.Metrics.Enabled(),
		Namespace:     metrics.DefaultMetricNamespace,
		Port:          opts.Metrics.Port(),
		Healthz:       hz,
		ListenAddress: opts.ListenAddress, // as upstream
	})
	if err = monitoring.InitMetrics(); err != nil {
		log.Fatal(err)
	}

	ctx := signals.Context()
	secProvider, err := security.New(ctx, security.Options{
		SentryAddress:           opts.SentryAddress,
		ControlPlaneTrustDomain: opts.TrustDomain,
		ControlPlaneNamespace:   security.CurrentNamespace(),
		TrustAnchorsFile:        opts.TrustAnchorsFile,
		AppID:                   "dapr-scheduler",
		MTLSEnabled:             opts.TLSEnabled || opts.Mode == string(modes.KubernetesMode),
		Mode:                    modes.DaprMode(opts.Mode),
		Healthz:                 hz,
		WriteIdentityToFile:     &opts.IdentityDirectoryWrite,
	})
	if err != nil {
		log.Fatal(err)
	}

	err = concurrency.NewRunnerManager(
		healthzsrv.New(healthzsrv.Options{
			Log:           log,
			Healthz:       hz,
			ListenAddress: healthzsrv.Address(opts.HealthzListenAddress, opts.ListenAddress),
			Port:          opts.HealthzPort,
		}).Start,
		metricsExporter.Start,
		secProvider.Run,
		func(ctx context.Context) error {
			secHandler, err := secProvider.Handler(ctx)
			if err != nil {
				return err
			}
			var ctrl *server.Controller
			if modes.DaprMode(opts.Mode) == modes.KubernetesMode {
				if ctrl, err = server.NewController(server.ControllerOptions{
					KubeConfig: opts.KubeConfig,
					Healthz:    hz,
				}); err != nil {
					return err
				}
			}
			for {
				srv, err := server.New(ctx, server.Options{
					Port:                      opts.Port,
					ListenAddress:             opts.ListenAddress,
					OverrideBroadcastHostPort: opts.OverrideBroadcastHostPort,

					Mode:       modes.DaprMode(opts.Mode),
					Security:   secHandler,
					Healthz:    hz,
					Controller: ctrl,

					KubeConfig:                     opts.KubeConfig,
					EtcdEmbed:                      opts.EtcdEmbed,
					EtcdDataDir:                    opts.EtcdDataDir,
					EtcdName:                       opts.ID,
					EtcdInitialCluster:             opts.EtcdInitialCluster,
					EtcdClientPort:                 opts.EtcdClientPort,
					EtcdClientListenAddress:        opts.EtcdClientListenAddress,
					EtcdSpaceQuota:                 opts.EtcdSpaceQuota,
					EtcdCompactionMode:             opts.EtcdCompactionMode,
					EtcdCompactionRetention:        opts.EtcdCompactionRetention,
					EtcdSnapshotCount:              opts.EtcdSnapshotCount,
					EtcdMaxSnapshots:               opts.EtcdMaxSnapshots,
					EtcdMaxWALs:                    opts.EtcdMaxWALs,
					EtcdBackendBatchLimit:          opts.EtcdBackendBatchLimit,
					EtcdBackendBatchInterval:       opts.EtcdBackendBatchInterval,
					EtcdMaxTxnOps:                  opts.EtcdMaxTxnOps,
					EtcdDefragThresholdMB:          opts.EtcdDefragThresholdMB,
					EtcdInitialElectionTickAdvance: opts.EtcdInitialElectionTickAdvance,
					EtcdMetrics:                    opts.EtcdMetrics,

					EtcdClientEndpoints: opts.EtcdClientEndpoints,
					EtcdClientUsername:  opts.EtcdClientUsername,
					EtcdClientPassword:  opts.EtcdClientPassword,

					Workers: opts.Workers,
				})
				if err != nil {
					return err
				}
				if err = srv.Run(ctx); err != nil {
					return err
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		},
	).Run(ctx)
	if err != nil {
		log.Fatalf("Fatal error running scheduler: %v", err)
	}
	log.Info("Scheduler service shut down gracefully")
}
