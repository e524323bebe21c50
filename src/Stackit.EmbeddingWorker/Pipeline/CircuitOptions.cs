using System.ComponentModel.DataAnnotations;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>The <c>Circuit</c> section: when an unreachable dependency pauses intake, and for how long.</summary>
public sealed class CircuitOptions
{
    public const string SectionName = "Circuit";

    /// <summary>Consecutive failed calls (each after its own retries) that open the circuit.</summary>
    [Range(1, 1000)]
    public int FailureThreshold { get; set; } = 3;

    /// <summary>How long intake pauses before one message is let through to probe the dependency.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Each failed probe doubles the pause, up to this.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan MaxBreakDuration { get; set; } = TimeSpan.FromMinutes(1);
}
