using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RefreshTokenCore;

namespace TokenEndpointSample;

/// <summary>The sample's host: everything from configuration, nothing hard-wired.</summary>
public static class SampleApp
{
    /// <param name="args">Command-line arguments (configuration overrides, --urls).</param>
    /// <param name="configure">A last say over the builder (the tests add their exporters).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(args);

        // The service's options from the "RefreshTokenCore" section (store, lifetimes, clients),
        // validated when the host starts: a negative lifetime fails the start, naming it.
        builder.Services.AddRefreshTokenCore(ServiceCollectionExtensions.DefaultConfigSection);
        builder.Services.AddOptions<SampleOptions>().BindConfiguration("Sample");

        // Expired and consumed tokens removed in the background, as Duende's TokenCleanupHost does.
        builder.Services.AddRefreshTokenCoreCleanup();
        builder.Services.AddOptions<RefreshTokenCleanupOptions>().BindConfiguration("RefreshTokenCoreCleanup");

        // /health answers whether the token store is reachable and its table as expected.
        builder.Services.AddHealthChecks().AddRefreshTokenCore();

        // Metrics and traces, OpenTelemetry: exported over OTLP when an endpoint is configured
        // (OpenTelemetry:OtlpEndpoint, or the standard OTEL_EXPORTER_OTLP_ENDPOINT variable).
        OpenTelemetryBuilder otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("token-endpoint-sample"))
            .WithMetrics(m => m.AddMeter(RefreshTokenCoreTelemetry.MeterName).AddAspNetCoreInstrumentation())
            // The library's spans are children of the request's: without the ASP.NET Core
            // instrumentation the request's activity is not sampled, and neither are they.
            .WithTracing(t => t.AddSource(RefreshTokenCoreTelemetry.ActivitySourceName).AddAspNetCoreInstrumentation());
        string? otlp = builder.Configuration["OpenTelemetry:OtlpEndpoint"];
        if (!string.IsNullOrEmpty(otlp) || !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.UseOtlpExporter();
            if (!string.IsNullOrEmpty(otlp))
            {
                builder.Services.Configure<OpenTelemetry.Exporter.OtlpExporterOptions>(o => o.Endpoint = new Uri(otlp));
            }
        }

        configure?.Invoke(builder);
        WebApplication app = builder.Build();
        TokenEndpoint.Map(app);
        app.MapHealthChecks("/health");
        return app;
    }
}
