using CsCheck;
using Stackit.EmbeddingWorker.Embeddings.Throttling;

namespace Stackit.EmbeddingWorker.Tests.Embeddings.Throttling;

public sealed class FleetSharesTests
{
    private const double Precision = 1e-9;

    /// <summary>A demand: none, a finite fraction of the budget, or "more than it was given".</summary>
    private static readonly Gen<double> Demand = Gen.Frequency(
        (3, Gen.Const(0.0)),
        (4, Gen.Double[0.001, 1.2]),
        (3, Gen.Const(double.PositiveInfinity)));

    private static readonly Gen<FleetDemand[]> Fleet =
        Gen.Select(Demand, Demand).Array[1, 8].Select(ds => ds.Select((d, i) => new FleetDemand($"r{i}", d.Item1, d.Item2)).ToArray());

    [Fact]
    public void The_shares_always_add_up_to_the_whole_budget_and_none_is_negative() =>
        Fleet.Sample(members =>
        {
            var shares = FleetShares.Allocate(members);
            Assert.Equal(1.0, shares.Values.Sum(), Precision);
            Assert.All(shares.Values, s => Assert.True(s >= 0));
            Assert.Equal(members.Length, shares.Count);
        });

    [Fact]
    public void Live_work_gets_what_it_asked_for_when_that_is_no_more_than_an_equal_part() =>
        Fleet.Sample(members =>
        {
            var shares = FleetShares.Allocate(members);
            foreach (var member in members.Where(m => m.Live <= 1.0 / members.Length))
            {
                Assert.True(shares[member.Member] >= member.Live - Precision);
            }
        });

    [Fact]
    public void Backfill_gets_nothing_while_live_work_anywhere_in_the_fleet_wants_the_whole_budget() =>
        Fleet.Where(ms => ms.Sum(m => m.Live) >= 1).Sample(members =>
        {
            var shares = FleetShares.Allocate(members);
            foreach (var idle in members.Where(m => m.Live == 0))
            {
                Assert.Equal(0.0, shares[idle.Member], Precision);
            }
        });

    [Fact]
    public void Replicas_that_want_alike_get_alike() =>
        Gen.Select(Demand, Demand, Gen.Int[1, 8]).Sample((live, backfill, count) =>
        {
            var members = Enumerable.Range(0, count).Select(i => new FleetDemand($"r{i}", live, backfill)).ToArray();
            Assert.All(FleetShares.Allocate(members).Values, s => Assert.Equal(1.0 / count, s, Precision));
        });

    [Fact]
    public void A_busy_replica_takes_what_an_idle_one_leaves_and_live_comes_before_backfill()
    {
        var shares = FleetShares.Allocate([
            new("live", double.PositiveInfinity, 0),
            new("light", 0.1, 0),
            new("backfill", 0, double.PositiveInfinity),
        ]);

        Assert.Equal(0.9, shares["live"], Precision);
        Assert.Equal(0.1, shares["light"], Precision);
        Assert.Equal(0.0, shares["backfill"], Precision);
    }
}
