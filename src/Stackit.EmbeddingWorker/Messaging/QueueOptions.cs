using System.ComponentModel.DataAnnotations;

namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>The <c>Queue</c> section: where jobs come from and how long a worker may hold one.</summary>
public sealed class QueueOptions : IValidatableObject
{
    public const string SectionName = "Queue";

    /// <summary>Storage connection string; ignored when <see cref="ServiceUri"/> is set.</summary>
    public string? ConnectionString { get; set; } = "UseDevelopmentStorage=true";

    /// <summary>Queue service URI for managed identity (<c>DefaultAzureCredential</c>).</summary>
    public Uri? ServiceUri { get; set; }

    [Required(ErrorMessage = "Queue:Name is required.")]
    public string Name { get; set; } = "documents";

    /// <summary>
    /// Attempts a job may fail on its own before it is poisoned. Despite the name (kept from the WebJobs SDK),
    /// deliveries that ended in a crash, a shutdown or during an outage do not count (see <see cref="MaxUnsettledDeliveries"/>).
    /// </summary>
    [Range(1, 100)]
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>Deliveries that may end without the worker handing the message back (its receiver crashed or was killed).</summary>
    [Range(1, 1_000)]
    public int MaxUnsettledDeliveries { get; set; } = 10;

    /// <summary>
    /// How long after it was enqueued a job that fails, or arrives, is poisoned instead of tried again, outage or not.
    /// Keep it below the messages' time to live (7 days unless the producer sets another), or they expire unseen.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan MaxJobAge { get; set; } = TimeSpan.FromDays(3);

    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    public bool CreateIfNotExists { get; set; } = true;

    /// <summary>Messages a replica holds at once; bounds memory whatever the backlog.</summary>
    [Range(1, 10_000)]
    public int MaxInFlightMessages { get; set; } = 256;

    /// <summary>Longest wait between polls of an empty queue (randomized exponential backoff from 100 ms).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan MaxPollingInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Where the messages of <paramref name="queueName"/> go that can never be processed.</summary>
    public static string PoisonQueueOf(string queueName) => queueName + "-poison";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ServiceUri is null && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult("Queue:ConnectionString or Queue:ServiceUri must be set.");
        }
        if (ServiceUri is { IsAbsoluteUri: false })
        {
            yield return new ValidationResult("Queue:ServiceUri must be an absolute URI.");
        }
        if (Name is { Length: > 0 } && !QueueNames.IsValid(Name, PoisonQueueOf("").Length))
        {
            yield return new ValidationResult($"Queue:Name must be 3-{QueueNames.MaxLength - PoisonQueueOf("").Length} lower-case letters, digits or single hyphens (the '-poison' suffix needs the other {PoisonQueueOf("").Length} of Azure's {QueueNames.MaxLength}).");
        }
    }
}
