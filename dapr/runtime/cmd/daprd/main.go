// Command daprd is the Approvals project's own build of the Dapr sidecar.
//
// It is a small equivalent of github.com/dapr/dapr/cmd/daprd (v1.18.3) that
// does NOT import github.com/dapr/dapr/cmd/daprd/components: that package
// panics at init unless built with the `stablecomponents`/`allcomponents`
// tags, and with those tags it registers ~150 components, among them the
// mDNS name resolver (multicast traffic that must not leave this machine).
//
// Instead we hand the runtime fresh, private component registries that
// contain exactly:
//
//   - state.sqlite (alias state.sqlite3): SQLite state store, pure Go; used as
//     the actor state store for workflows. Its writes queue in front of SQLite
//     (sqlite_writes.go) instead of sleeping in SQLite's busy handler.
//   - state.postgresql / state.postgres (v1 default, v2 available): optional
//     PostgreSQL state store.
//   - nameresolution.sqlite: SQLite name resolver.
//   - bindings.smtp and bindings.http (output only): the notifications, e-mail
//     and webhooks, each used only when its component is configured (see
//     dapr/start-sidecar.sh: SMTP_HOST, WEBHOOK_URL).
//   - bindings.localstorage (output only): the orders' attached files, in a
//     directory under the data directory (start-sidecar.sh: ATTACHMENTS_DIR). A
//     deployment uses Dapr's own sidecar and an S3-compatible bucket instead
//     (deploy/k8s/dapr-attachments.yaml).
//
// Every other registry (pubsub, input bindings, secret stores, locks, crypto,
// configuration, conversation, HTTP middleware) is empty. In standalone mode
// daprd falls back to the "mdns" resolver when the Configuration does not set
// spec.nameResolution; mdns is not registered here, so daprd then logs
// "couldn't find name resolver mdns/v1" and runs without a resolver (service
// invocation to other apps fails; actors and workflows still work) instead of
// multicasting. Always pass a --config that selects the sqlite resolver.
//
// Command-line flags are exactly daprd's: they are parsed by dapr's own
// cmd/daprd/options package (which does not pull in the components package).
package main

import (
	"context"
	"fmt"
	"os"

	"go.opencensus.io/stats/view"

	bindingshttp "github.com/dapr/components-contrib/bindings/http"
	bindingslocalstorage "github.com/dapr/components-contrib/bindings/localstorage"
	bindingssmtp "github.com/dapr/components-contrib/bindings/smtp"
	nrsqlite "github.com/dapr/components-contrib/nameresolution/sqlite"
	statepgv1 "github.com/dapr/components-contrib/state/postgresql/v1"
	statepgv2 "github.com/dapr/components-contrib/state/postgresql/v2"

	"github.com/dapr/dapr/cmd/daprd/options"
	"github.com/dapr/dapr/pkg/buildinfo"
	"github.com/dapr/dapr/pkg/components"
	bindingsLoader "github.com/dapr/dapr/pkg/components/bindings"
	configurationLoader "github.com/dapr/dapr/pkg/components/configuration"
	conversationLoader "github.com/dapr/dapr/pkg/components/conversation"
	cryptoLoader "github.com/dapr/dapr/pkg/components/crypto"
	lockLoader "github.com/dapr/dapr/pkg/components/lock"
	httpMiddlewareLoader "github.com/dapr/dapr/pkg/components/middleware/http"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsubLoader "github.com/dapr/dapr/pkg/components/pubsub"
	secretstoresLoader "github.com/dapr/dapr/pkg/components/secretstores"
	stateLoader "github.com/dapr/dapr/pkg/components/state"
	"github.com/dapr/dapr/pkg/healthz"
	"github.com/dapr/dapr/pkg/metrics"
	"github.com/dapr/dapr/pkg/modes"
	"github.com/dapr/dapr/pkg/runtime"
	"github.com/dapr/dapr/pkg/runtime/registry"
	"github.com/dapr/dapr/pkg/security"
	"github.com/dapr/kit/concurrency"
	"github.com/dapr/kit/logger"
	"github.com/dapr/kit/signals"
)

var (
	log        = logger.NewLogger("dapr.runtime")
	logContrib = logger.NewLogger("dapr.contrib")
)

// newRegistry builds the component registry handed to the runtime. All
// registries are fresh instances (not the package-level DefaultRegistry
// singletons), so nothing registered by some transitively imported package's
// init() can end up in this sidecar.
func newRegistry() *registry.Options {
	stateReg := stateLoader.NewRegistry()
	stateReg.Logger = logContrib
	stateReg.RegisterComponent(newOneWriterSQLite, "sqlite", "sqlite3")
	pgVersions := components.Versioning{
		Preferred: components.VersionConstructor{Version: "v2", Constructor: statepgv2.NewPostgreSQLStateStore},
		Others:    []components.VersionConstructor{{Version: "v1", Constructor: statepgv1.NewPostgreSQLStateStore}},
		Default:   "v1",
	}
	stateReg.RegisterComponentWithVersions("postgresql", pgVersions)
	stateReg.RegisterComponentWithVersions("postgres", pgVersions)

	nrReg := nrLoader.NewRegistry()
	nrReg.Logger = logContrib
	nrReg.RegisterComponent(nrsqlite.NewResolver, "sqlite")

	// Empty registries for everything else (bindings: output only, the three above).
	secretReg := secretstoresLoader.NewRegistry()
	secretReg.Logger = logContrib
	configReg := configurationLoader.NewRegistry()
	configReg.Logger = logContrib
	lockReg := lockLoader.NewRegistry()
	lockReg.Logger = logContrib
	pubsubReg := pubsubLoader.NewRegistry()
	pubsubReg.Logger = logContrib
	bindingsReg := bindingsLoader.NewRegistry()
	bindingsReg.Logger = logContrib
	bindingsReg.RegisterOutputBinding(bindingssmtp.NewSMTP, "smtp")
	bindingsReg.RegisterOutputBinding(bindingshttp.NewHTTP, "http")
	bindingsReg.RegisterOutputBinding(bindingslocalstorage.NewLocalStorage, "localstorage")
	cryptoReg := cryptoLoader.NewRegistry()
	cryptoReg.Logger = logContrib
	conversationReg := conversationLoader.NewRegistry()
	conversationReg.Logger = logContrib
	httpMwReg := httpMiddlewareLoader.NewRegistry()
	httpMwReg.Logger = log

	return registry.NewOptions().
		WithStateStores(stateReg).
		WithNameResolutions(nrReg).
		WithSecretStores(secretReg).
		WithConfigurations(configReg).
		WithLocks(lockReg).
		WithPubSubs(pubsubReg).
		WithBindings(bindingsReg).
		WithCryptoProviders(cryptoReg).
		WithConversations(conversationReg).
		WithHTTPMiddlewares(httpMwReg)
}

func main() {
	opts, err := options.New(os.Args[1:])
	if err != nil {
		log.Fatalf("Failed to parse flags: %v", err)
	}

	switch {
	case opts.RuntimeVersion:
		fmt.Println(buildinfo.Version()) //nolint:forbidigo
		return
	case opts.BuildInfo:
		fmt.Printf("Version: %s\nGit Commit: %s\nGit Version: %s\nComponents: state.sqlite, state.postgresql, nameresolution.sqlite, bindings.smtp, bindings.http, bindings.localstorage\n", //nolint:forbidigo
			buildinfo.Version(), buildinfo.Commit(), buildinfo.GitVersion())
		return
	case opts.WaitCommand:
		runtime.WaitUntilDaprOutboundReady(opts.DaprHTTPPort)
		return
	}

	opts.Logger.SetAppID(opts.AppID)
	if err = logger.ApplyOptionsToLoggers(&opts.Logger); err != nil {
		log.Fatal(err)
	}
	log.Infof("Starting Dapr Runtime (approvals build) -- version %s -- commit %s", buildinfo.Version(), buildinfo.Commit())
	log.Infof("Log level set to: %s", opts.Logger.OutputLevel)

	// Cancelled on SIGINT/SIGTERM (a second signal exits immediately).
	ctx := signals.Context()
	if err = run(ctx, opts); err != nil {
		log.Fatalf("Fatal error from runtime: %s", err)
	}
	log.Info("Daprd shutdown gracefully")
}

func run(ctx context.Context, opts *options.Options) error {
	hz := healthz.New()
	secProvider, err := security.New(ctx, security.Options{
		SentryAddress:           opts.SentryAddress,
		ControlPlaneTrustDomain: opts.ControlPlaneTrustDomain,
		ControlPlaneNamespace:   opts.ControlPlaneNamespace,
		TrustAnchors:            opts.TrustAnchors,
		AppID:                   opts.AppID,
		MTLSEnabled:             opts.EnableMTLS,
		Mode:                    modes.DaprMode(opts.Mode),
		Healthz:                 hz,
		JwtAudiences:            opts.SentryRequestJwtAudiences,
	})
	if err != nil {
		return err
	}

	return concurrency.NewRunnerManager(
		secProvider.Run,
		func(ctx context.Context) error {
			sec, err := secProvider.Handler(ctx)
			if err != nil {
				return err
			}
			rt, err := runtime.FromConfig(ctx, &runtime.Config{
				AppID:                         opts.AppID,
				ActorsService:                 opts.ActorsService,
				ActorsDisseminationTimeout:    opts.ActorsDisseminationTimeout,
				HotReloadReconcileInterval:    opts.HotReloadReconcileInterval,
				RemindersService:              opts.RemindersService,
				SchedulerAddress:              opts.SchedulerAddress,
				SchedulerStreams:              opts.SchedulerJobStreams,
				AllowedOrigins:                opts.AllowedOrigins,
				ResourcesPath:                 opts.ResourcesPath,
				ComponentsPath:                opts.ComponentsPath,
				ControlPlaneAddress:           opts.ControlPlaneAddress,
				AppProtocol:                   opts.AppProtocol,
				Mode:                          opts.Mode,
				DaprHTTPPort:                  opts.DaprHTTPPort,
				DaprInternalGRPCPort:          opts.DaprInternalGRPCPort,
				DaprInternalGRPCListenAddress: opts.DaprInternalGRPCListenAddress,
				DaprAPIGRPCPort:               opts.DaprAPIGRPCPort,
				DaprAPIListenAddresses:        opts.DaprAPIListenAddresses,
				DaprPublicPort:                opts.DaprPublicPort,
				DaprPublicListenAddress:       opts.DaprPublicListenAddress,
				ApplicationPort:               opts.AppPort,
				ProfilePort:                   opts.ProfilePort,
				EnableProfiling:               opts.EnableProfiling,
				AppMaxConcurrency:             opts.AppMaxConcurrency,
				EnableMTLS:                    opts.EnableMTLS,
				SentryAddress:                 opts.SentryAddress,
				MaxRequestSize:                opts.MaxRequestSize,
				ReadBufferSize:                opts.ReadBufferSize,
				UnixDomainSocket:              opts.UnixDomainSocket,
				DaprGracefulShutdownSeconds:   opts.DaprGracefulShutdownSeconds,
				DaprBlockShutdownDuration:     opts.DaprBlockShutdownDuration,
				DisableBuiltinK8sSecretStore:  opts.DisableBuiltinK8sSecretStore,
				EnableAppHealthCheck:          opts.EnableAppHealthCheck,
				AppHealthCheckPath:            opts.AppHealthCheckPath,
				AppHealthProbeInterval:        opts.AppHealthProbeInterval,
				AppHealthProbeTimeout:         opts.AppHealthProbeTimeout,
				AppHealthThreshold:            opts.AppHealthThreshold,
				AppChannelAddress:             opts.AppChannelAddress,
				EnableAPILogging:              opts.EnableAPILogging,
				Config:                        opts.Config,
				DisableInitEndpoints:          opts.DisableInitEndpoints,
				AppSSL:                        opts.AppSSL,
				Metrics: metrics.Options{
					Enabled:       opts.Metrics.Enabled(),
					Log:           log,
					Port:          opts.Metrics.Port(),
					Namespace:     metrics.DefaultMetricNamespace,
					Healthz:       hz,
					ListenAddress: opts.Metrics.ListenAddress(),
					Meter:         view.NewMeter(),
				},
				Registry: newRegistry(),
				Security: sec,
				Healthz:  hz,
			})
			if err != nil {
				return err
			}
			return rt.Run(ctx)
		},
	).Run(ctx)
}
