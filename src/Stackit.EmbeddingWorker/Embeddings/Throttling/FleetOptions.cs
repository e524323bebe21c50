using System.ComponentModel.DataAnnotations;

namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// The <c>Fleet</c> section: how the replicas of one release share <c>Embeddings:TokensPerMinute</c> and
/// <c>Embeddings:RequestsPerMinute</c>, which are the budget of the whole project, not of one replica.
/// </summary>
public sealed class FleetOptions : IValidatableObject
{
    public const string SectionName = "Fleet";

    /// <summary>
    /// <c>Storage</c>: the replicas share the budget through the storage account (docs/throughput.md: "Sharing one rate budget").
    /// <c>Off</c>: every replica uses the whole budget by itself (one replica only, or a budget per replica).
    /// </summary>
    public FleetCoordination Coordination { get; set; } = FleetCoordination.Storage;

    /// <summary>
    /// How often a replica reports its demand and reads the others' (two storage transactions each). Also how soon a new
    /// replica gets its part of the split (at its second heartbeat) and the others take a stopped one's share.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A replica not heard of for this long is gone (killed), and its share returns to the others; until then it idles.</summary>
    [Range(typeof(TimeSpan), "00:00:03", "00:10:00")]
    public TimeSpan MemberTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The most replicas the release runs (the chart sets <c>keda.maxReplicaCount</c>): a replica that has not yet
    /// reached the ledger uses this part of the budget, one that lost it the part of the last count it saw.
    /// </summary>
    [Range(1, 1000)]
    public int MaxReplicas { get; set; } = 4;

    /// <summary>
    /// The fraction of each budget the replicas aim at together (also with <c>Coordination=Off</c>): the rest is
    /// headroom for the one second's burst each budget allows and for shares that change at different moments on
    /// different replicas, so that an endpoint counting its limit over a strict sliding 60 s window is not exceeded.
    /// 429s lower the pace further, for a while (docs/throughput.md).
    /// </summary>
    [Range(0.5, 1.0)]
    public double TargetUtilization { get; set; } = 0.97;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MemberTimeout < HeartbeatInterval * 2)
        {
            yield return new ValidationResult("Fleet:MemberTimeout must be at least twice Fleet:HeartbeatInterval.");
        }
    }
}

public enum FleetCoordination
{
    Storage,
    Off,
}
