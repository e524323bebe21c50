namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// What one replica asked of the shared budget in its last heartbeat, as fractions of the whole budget per minute:
/// its live work and its backfill work. <see cref="double.PositiveInfinity"/> means "more than it was given" (its
/// requests waited for the budget), so it would take all it can get. <paramref name="Starting"/>: the replica's first
/// report, made before it had seen the ledger (it holds at most 1/<c>Fleet:MaxReplicas</c>); an entry without it (or
/// from an earlier version) is taken as established.
/// </summary>
internal readonly record struct FleetDemand(string Member, double Live, double Backfill, bool Starting = false);

/// <summary>
/// Splits the budget among the replicas from their demands. Every replica computes the same split from the same
/// reports, so no replica has to grant anything to another. Live work is served first, fleet-wide: the budget is
/// water-filled over the live demands (max-min fair: a replica that needs less than an equal part gets what it needs,
/// the others split the rest evenly), what remains over the backfill demands, and whatever is still left is split
/// evenly among all replicas so that an idle replica can start at once.
/// </summary>
internal static class FleetShares
{
    public static IReadOnlyDictionary<string, double> Allocate(IReadOnlyCollection<FleetDemand> members)
    {
        var shares = members.ToDictionary(m => m.Member, _ => 0.0, StringComparer.Ordinal);
        if (shares.Count == 0)
        {
            return shares;
        }
        var left = WaterFill(1.0, members.Select(m => (m.Member, Sanitize(m.Live))), shares);
        left = WaterFill(left, members.Select(m => (m.Member, Sanitize(m.Backfill))), shares);
        foreach (var member in shares.Keys.ToList())
        {
            shares[member] += left / shares.Count;
        }
        return shares;
    }

    /// <summary>Gives each demand at most an equal part of what is left, smallest demands first; returns what remains.</summary>
    private static double WaterFill(double capacity, IEnumerable<(string Member, double Demand)> demands, Dictionary<string, double> shares)
    {
        var wanting = demands.Where(d => d.Demand > 0).OrderBy(d => d.Demand).ThenBy(d => d.Member, StringComparer.Ordinal).ToList();
        for (var i = 0; i < wanting.Count; i++)
        {
            var equalPart = capacity / (wanting.Count - i);
            var given = Math.Min(wanting[i].Demand, equalPart);
            shares[wanting[i].Member] += given;
            capacity -= given;
        }
        return Math.Max(0, capacity);
    }

    private static double Sanitize(double demand) => double.IsNaN(demand) || demand < 0 ? 0 : demand;
}
