using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Stackit.EmbeddingWorker.Diagnostics;

namespace Stackit.EmbeddingWorker.Management;

/// <summary>
/// The management port: <c>/healthz</c> (the pipeline is not wedged, see <see cref="PipelineLivenessCheck"/>), <c>/readyz</c> (queue and Qdrant answer, no
/// circuit open) and <c>/metrics</c> (Prometheus text), plus an OTLP push when <c>Management:OtlpEndpoint</c> is set.
/// </summary>
public static class ManagementEndpoints
{
    private const string ReadyTag = "ready";
    private const string LiveTag = "live";

    public static WebApplicationBuilder AddManagementEndpoints(this WebApplicationBuilder builder)
    {
        // Read here rather than from the validated options: Kestrel's endpoints are fixed before the
        // container is built. The options validation at start still rejects an out-of-range port.
        var port = builder.Configuration.GetValue($"{ManagementOptions.SectionName}:{nameof(ManagementOptions.Port)}", new ManagementOptions().Port);
        var otlp = builder.Configuration.GetValue<Uri?>($"{ManagementOptions.SectionName}:{nameof(ManagementOptions.OtlpEndpoint)}");
        var bind = builder.Configuration.GetValue<string?>($"{ManagementOptions.SectionName}:{nameof(ManagementOptions.BindAddress)}");
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            if (bind is { Length: > 0 } && IPAddress.TryParse(bind, out var address))
            {
                kestrel.Listen(address, port);
            }
            else
            {
                kestrel.ListenAnyIP(port);
            }
        });
        builder.Services.AddRouting();
        builder.Services.AddHealthChecks()
            .AddCheck<QueueHealthCheck>("queue", tags: [ReadyTag])
            .AddCheck<QdrantHealthCheck>("qdrant", tags: [ReadyTag])
            .AddCheck<CircuitHealthCheck>("circuits", tags: [ReadyTag])
            .AddCheck<PipelineLivenessCheck>("pipeline", tags: [LiveTag]);
        // A dependency that does not answer in time counts as unreachable.
        builder.Services.AddOptions<HealthCheckServiceOptions>().Configure<ManagementOptions>((health, management) =>
        {
            foreach (var registration in health.Registrations)
            {
                registration.Timeout = management.ReadinessTimeout;
            }
        });
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("stackit-embedding-worker"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(WorkerMetrics.MeterName, "System.Runtime");
                metrics.AddPrometheusExporter();
                if (otlp is not null)
                {
                    metrics.AddOtlpExporter(exporter => exporter.Endpoint = otlp);
                }
            });
        return builder;
    }

    public static WebApplication MapManagementEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag), ResponseWriter = WriteReport });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag), ResponseWriter = WriteReport });
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    /// <summary>One line per check, so an operator running curl sees which dependency is the problem.</summary>
    private static Task WriteReport(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        var lines = report.Entries.Select(e => $"{e.Key}: {e.Value.Status.ToString().ToLowerInvariant()} ({e.Value.Description})");
        return context.Response.WriteAsync($"{report.Status.ToString().ToLowerInvariant()}\n{string.Join('\n', lines)}\n");
    }
}
