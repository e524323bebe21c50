namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>One replica as the ledger last heard of it: its demand and when (on the ledger's clock).</summary>
internal readonly record struct FleetMember(FleetDemand Demand, DateTimeOffset LastSeen);

/// <summary>The fleet as one heartbeat saw it: every member's last report, and the ledger's clock at that moment.</summary>
internal sealed record FleetView(DateTimeOffset Now, IReadOnlyList<FleetMember> Members);

/// <summary>
/// Where the replicas sharing one budget tell each other what they need. Each replica writes only its own entry, so
/// there is nothing to contend for; ages are measured on the ledger's own clock, so replicas' clocks do not matter.
/// </summary>
internal interface IFleetLedger
{
    /// <summary>Writes this replica's report and reads everyone's.</summary>
    Task<FleetView> PublishAsync(FleetDemand report, CancellationToken cancellationToken);

    /// <summary>Removes a member's entry: this replica's at shutdown, or one long silent (killed).</summary>
    Task RemoveAsync(string member, CancellationToken cancellationToken);
}
