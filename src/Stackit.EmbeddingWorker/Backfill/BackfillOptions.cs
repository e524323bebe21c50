using System.ComponentModel.DataAnnotations;
using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Backfill;

/// <summary>
/// The <c>Backfill</c> section: the queue that re-embedding work travels on, shared by all replicas, and how a
/// replica takes part. A replica takes backfill work only while its live queue is empty.
/// </summary>
public sealed class BackfillOptions : IValidatableObject
{
    public const string SectionName = "Backfill";

    /// <summary>The backfill queue; by default <c>&lt;Queue:Name&gt;-backfill</c>. Its poison queue is <c>&lt;name&gt;-poison</c>.</summary>
    public string? Queue { get; set; }

    /// <summary>Whether this replica works on backfill pages at all (the live pipeline records changes either way).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Documents per backfill message (a page).</summary>
    [Range(1, 256)]
    public int PageSize { get; set; } = 32;

    /// <summary>Pages a replica works on at once.</summary>
    [Range(1, 16)]
    public int ConcurrentPages { get; set; } = 2;

    /// <summary>Lease on a page; one not finished in time is taken by another replica (copying is idempotent).</summary>
    [Range(typeof(TimeSpan), "00:00:30", "1.00:00:00")]
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How often a replica looks whether a backfill runs (the alias <c>&lt;collection&gt;_next</c>); the backfill
    /// command waits twice this long after starting one, so that every replica records changes before it copies.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan MarkerRefresh { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A secret shared by the replicas and the backfill command: with it set, they sign the pages they make and take
    /// only pages signed with it, so that writing the backfill queue is not enough to make the worker copy or delete
    /// anything. Put it in the Secret, never in the ConfigMap.
    /// </summary>
    public string? PageKey { get; set; }

    /// <summary>
    /// Bulk mode: the target collection is built without its HNSW graph (<c>m: 0</c>), which makes the copy cheaper;
    /// the command enables the index (with <c>Qdrant:HnswM</c>) and waits until the collection is green before it
    /// checks and switches.
    /// </summary>
    public bool DeferIndexing { get; set; } = true;

    /// <summary>
    /// Chunks of the target, chosen at random, that are embedded again and searched for in the target before the
    /// switch; 0 switches without checking.
    /// </summary>
    [Range(0, 10_000)]
    public int VerifySample { get; set; } = 100;

    /// <summary>The share of sampled chunks that must find themselves among their nearest for the switch.</summary>
    [Range(0.0, 1.0)]
    public double MinSelfHitRate { get; set; } = 0.99;

    /// <summary>
    /// How many collections before the one an alias serves a backfill keeps (<c>&lt;alias&gt;_v&lt;n&gt;</c> that no alias
    /// names are deleted after a switch and on a night with nothing to do, the newest of these kept); the first of them is
    /// <c>&lt;alias&gt;_previous</c>, which is always kept.
    /// </summary>
    [Range(1, 10)]
    public int KeepPrevious { get; set; } = 1;

    public string QueueName(string liveQueue) => Queue is { Length: > 0 } name ? name : liveQueue + "-backfill";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Queue is { Length: > 0 } name && !QueueNames.IsValid(name, QueueOptions.PoisonQueueOf("").Length))
        {
            yield return new ValidationResult($"Backfill:Queue must be 3-{QueueNames.MaxLength - QueueOptions.PoisonQueueOf("").Length} lower-case letters, digits or single hyphens (its '-poison' queue needs the rest of Azure's {QueueNames.MaxLength}).");
        }
    }
}
