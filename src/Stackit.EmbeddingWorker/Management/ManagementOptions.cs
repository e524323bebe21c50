using System.ComponentModel.DataAnnotations;

namespace Stackit.EmbeddingWorker.Management;

/// <summary>
/// The management port (<c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c>) and where metrics go besides
/// Prometheus. Section <c>Management</c>.
/// </summary>
internal sealed class ManagementOptions : IValidatableObject
{
    public const string SectionName = "Management";

    /// <summary>The port the health and metrics endpoints listen on.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 8080;

    /// <summary>
    /// The address they listen on (e.g. the pod's IP, or <c>127.0.0.1</c> where only a local agent scrapes); every
    /// interface when not set. The endpoints have no authentication: reach them through a NetworkPolicy or this.
    /// </summary>
    public string? BindAddress { get; set; }

    /// <summary>An OTLP collector (gRPC, e.g. <c>http://otel-collector:4317</c>); metrics are pushed there too when set.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>How often the queue lengths are read for the queue-depth gauge.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan QueueDepthInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the pipeline may hold messages without moving (no call succeeding, no message settled) while every
    /// dependency answers, before <c>/healthz</c> fails and the orchestrator restarts the worker.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LivenessThreshold { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a readiness check may wait for the queue or Qdrant before calling it unreachable.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ReadinessTimeout { get; set; } = TimeSpan.FromSeconds(3);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (BindAddress is { Length: > 0 } address && !System.Net.IPAddress.TryParse(address, out _))
        {
            yield return new ValidationResult($"Management:BindAddress '{address}' is not an IP address.");
        }
    }
}
