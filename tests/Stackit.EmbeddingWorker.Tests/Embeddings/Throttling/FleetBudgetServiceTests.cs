using Azure;
using CsCheck;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Embeddings.Throttling;

namespace Stackit.EmbeddingWorker.Tests.Embeddings.Throttling;

/// <summary>
/// The shared budget under a fake clock: replicas with their own <see cref="FleetBudgetService"/> and
/// <see cref="EndpointRateBudget"/> over one in-memory ledger, heartbeating at their own phases.
/// </summary>
public sealed class FleetBudgetServiceTests
{
    private const double Precision = 1e-9;
    // The defaults (heartbeat 1 s, member timeout 3 s): the properties below hold for what a deployment runs.
    private static readonly FleetOptions Options = new() { MaxReplicas = 4 };

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Three_replicas_split_the_budget_and_a_fourth_gets_a_share_without_a_restart_of_the_others()
    {
        var fleet = new Fleet();
        var replicas = new[] { fleet.Join(), fleet.Join(), fleet.Join() };
        await fleet.RunAsync(TimeSpan.FromSeconds(10));
        Assert.All(replicas, r => Assert.Equal(1.0 / 3, r.Share, Precision));

        var fourth = fleet.Join();
        await fleet.RunAsync(TimeSpan.FromSeconds(10));

        Assert.All(fleet.Running, r => Assert.Equal(0.25, r.Share, Precision));
        Assert.True(fourth.Share > 0);
    }

    [Fact]
    public async Task A_replica_that_stops_gives_its_share_back_within_two_heartbeats()
    {
        var fleet = new Fleet();
        fleet.Join();
        fleet.Join();
        var leaving = fleet.Join();
        await fleet.RunAsync(TimeSpan.FromSeconds(10));

        await fleet.StopAsync(leaving);
        await fleet.RunAsync(Options.HeartbeatInterval * 2);

        Assert.All(fleet.Running, r => Assert.Equal(0.5, r.Share, Precision));
    }

    [Fact]
    public async Task A_share_that_grows_only_because_a_replica_left_applies_at_the_next_heartbeat_not_the_one_after()
    {
        // Nobody has to lower anything first when a replica leaves or ages out: waiting a second heartbeat there only
        // left its share unused (a heartbeat of a third of the budget at every kill, seen in the benchmark's kill minute).
        var fleet = new Fleet();
        fleet.Join();
        fleet.Join();
        var leaving = fleet.Join();
        var killed = fleet.Join();
        await fleet.RunAsync(TimeSpan.FromSeconds(10));

        await fleet.StopAsync(leaving);
        await fleet.RunAsync(Options.HeartbeatInterval);
        Assert.All(fleet.Running, r => Assert.Equal(1.0 / 3, r.Share, Precision));

        fleet.Kill(killed);
        await fleet.RunAsync(Options.MemberTimeout + Options.HeartbeatInterval);
        Assert.All(fleet.Running, r => Assert.Equal(0.5, r.Share, Precision));
    }

    [Fact]
    public async Task A_killed_replica_s_share_returns_after_the_member_timeout()
    {
        var fleet = new Fleet();
        fleet.Join();
        fleet.Join();
        var killed = fleet.Join();
        await fleet.RunAsync(TimeSpan.FromSeconds(10));

        fleet.Kill(killed);
        await fleet.RunAsync(Options.MemberTimeout - Options.HeartbeatInterval);
        Assert.All(fleet.Running, r => Assert.Equal(1.0 / 3, r.Share, Precision));
        await fleet.RunAsync(Options.HeartbeatInterval * 3);

        Assert.All(fleet.Running, r => Assert.Equal(0.5, r.Share, Precision));
    }

    [Fact]
    public async Task The_share_a_killed_replica_left_unused_until_it_aged_out_is_handed_back_to_the_others_within_the_budget()
    {
        // Killed right after a heartbeat, a replica's third of the budget goes unused until its entry ages out (the
        // timeout and up to a heartbeat more, ~7 % of the minute's third): the survivors take back what it surely did not
        // send (all but the heartbeat after its last report), so the minute of the kill is about as full as any.
        var target = new FleetOptions().TargetUtilization;
        var fleet = new Fleet(targetUtilization: target) { Traffic = true };
        fleet.Ledger.Lag = TimeSpan.FromMilliseconds(200);
        fleet.Join();
        fleet.Join();
        var killed = fleet.Join();
        await fleet.RunAsync(TimeSpan.FromSeconds(60) + TimeSpan.FromMilliseconds(250));

        var before = fleet.GrantedPerTick.Count;
        fleet.Kill(killed);
        await fleet.RunAsync(TimeSpan.FromSeconds(60));

        var minuteOfTheKill = fleet.GrantedPerTick.Skip(before).Sum() / 600_000.0;
        TestContext.Current.TestOutputHelper!.WriteLine($"the minute from the kill: {minuteOfTheKill:P2} of the budget (target {target:P0})");
        // 95.7 % here (94.8 % without handing it back: the share unused for the timeout and a heartbeat more).
        Assert.InRange(minuteOfTheKill, target - 0.015, target);
        Assert.True(fleet.MostInAnyMinute() <= 600_000);
    }

    [Fact]
    public async Task Without_the_ledger_a_replica_falls_back_to_the_budget_divided_by_the_last_count_it_saw_never_the_whole()
    {
        var fleet = new Fleet();
        fleet.Join();
        fleet.Join();
        fleet.Join();
        await fleet.RunAsync(TimeSpan.FromSeconds(10));

        fleet.Ledger.Down = true;
        var newcomer = fleet.Join();
        // The first heartbeat after the timeout has passed (the one at the timeout itself is still within it).
        await fleet.RunAsync(Options.MemberTimeout + (Options.HeartbeatInterval * 2));

        Assert.All(fleet.Running.Where(r => r != newcomer), r => Assert.Equal(1.0 / 3, r.Share, Precision));
        // It never saw the fleet: Fleet:MaxReplicas stands in for the count.
        Assert.Equal(1.0 / Options.MaxReplicas, newcomer.Share, Precision);

        fleet.Ledger.Down = false;
        await fleet.RunAsync(TimeSpan.FromSeconds(10));
        Assert.All(fleet.Running, r => Assert.Equal(0.25, r.Share, Precision));
    }

    [Fact]
    public async Task Live_work_waiting_on_one_replica_takes_the_budget_from_backfill_on_another()
    {
        // A budget so small that a largest request takes longer than this test to refill: the requests keep waiting.
        var fleet = new Fleet(tokensPerMinute: 60_000);
        var live = fleet.Join();
        var backfill = fleet.Join();
        await fleet.RunAsync(TimeSpan.FromSeconds(10));

        // Each replica empties its bucket; the next request waits, so each reports more demand than it got.
        await live.Budget.AcquireAsync(16_384, Cancel);
        await backfill.Budget.AcquireAsync(16_384, Cancel, backfill: true);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        var liveWaiting = live.Budget.AcquireAsync(16_384, stop.Token).AsTask();
        var backfillWaiting = backfill.Budget.AcquireAsync(16_384, stop.Token, backfill: true).AsTask();
        await fleet.RunAsync(Options.HeartbeatInterval * 3);

        Assert.Equal(1.0, live.Share, Precision);
        Assert.Equal(0.0, backfill.Share, Precision);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(liveWaiting, backfillWaiting));
    }

    /// <summary>
    /// Generated histories of joins, graceful stops, kills and ledger outages, each replica heartbeating at its own
    /// phase: while the ledger is up, the shares in use never add up to more than the budget; once the history is
    /// over and the ledger has been up for a while, the running replicas split the budget evenly.
    /// </summary>
    [Fact]
    public async Task Replicas_started_together_never_hold_more_than_the_budget_not_even_at_their_first_heartbeats()
    {
        // A rollout or a scale from zero: each replica found the ledger empty at its first heartbeat and took the whole
        // budget (three together sent 1.2 times the budget in their first 20 s, and a sliding window remembers it).
        await Gen.Int[2, Options.MaxReplicas].SelectMany(count => Gen.Int[0, 11].Array[count]).SampleAsync(async phases =>
        {
            var fleet = new Fleet();
            // Started together: heartbeats of the same moment (one tick) each write, then list, and do not see each
            // other's first report.
            fleet.Ledger.Lag = TimeSpan.FromMilliseconds(200);
            foreach (var phase in phases)
            {
                fleet.Join(TimeSpan.FromMilliseconds(phase * 250));
            }
            for (var tick = 0; tick < 60; tick++)
            {
                await fleet.RunAsync(TimeSpan.FromMilliseconds(250));
                Assert.True(fleet.Running.Sum(r => r.Share) <= 1 + Precision, $"shares {string.Join(", ", fleet.Running.Select(r => r.Share))} at {fleet.Elapsed}");
            }
            Assert.All(fleet.Running, r => Assert.Equal(1.0 / phases.Length, r.Share, Precision));
        }, iter: 100);
    }

    [Fact]
    public async Task A_replica_that_finds_only_replicas_starting_too_takes_its_part_of_the_most_at_its_first_heartbeat_one_that_finds_a_running_one_nothing()
    {
        // Four started together whose first heartbeats fall a quarter second apart: each found the others' first reports
        // and took nothing for a second (three quarters of the budget idle in the first second of a rollout).
        var fleet = new Fleet();
        var first = fleet.Join();
        var second = fleet.Join(TimeSpan.FromMilliseconds(250));

        await fleet.RunAsync(TimeSpan.FromMilliseconds(500));
        Assert.Equal(1.0 / Options.MaxReplicas, first.Share, Precision);
        Assert.Equal(1.0 / Options.MaxReplicas, second.Share, Precision);

        await fleet.RunAsync(TimeSpan.FromSeconds(5));
        var late = fleet.Join();
        await fleet.RunAsync(TimeSpan.FromMilliseconds(250));
        Assert.Equal(0, late.Share, Precision);
        Assert.Equal(1.0, fleet.Running.Sum(r => r.Share), Precision);
    }

    [Fact]
    public async Task A_replica_s_first_share_starts_with_a_full_bucket_so_its_first_request_does_not_wait()
    {
        // The bucket began empty at the first share: a replica's first request waited up to a second (0.8 s seen in the
        // benchmark's simultaneous start) for a quarter of the budget to refill it.
        var fleet = new Fleet();
        var alone = fleet.Join();
        await fleet.RunAsync(TimeSpan.FromMilliseconds(250));

        // A second of a quarter of 600,000 tokens a minute is 2,500; a quarter second has refilled 625.
        Assert.Equal(Grant.Now, await ImmediateGrant.TryAsync(alone.Budget, 2_000, Cancel));
        Assert.Equal(Grant.None, await ImmediateGrant.TryAsync(alone.Budget, 2_000, Cancel));
    }

    [Fact]
    public async Task A_replica_alone_takes_its_part_of_the_most_replicas_at_its_first_heartbeat_and_the_whole_budget_at_its_second()
    {
        var fleet = new Fleet();
        var alone = fleet.Join();

        await fleet.RunAsync(TimeSpan.FromMilliseconds(250));
        Assert.Equal(1.0 / Options.MaxReplicas, alone.Share, Precision);
        await fleet.RunAsync(Options.HeartbeatInterval);
        Assert.Equal(1.0, alone.Share, Precision);
    }

    [Fact]
    public async Task In_any_history_the_shares_in_use_never_exceed_the_budget_and_end_evenly_split()
    {
        var step = Gen.Frequency((70, Gen.Const(Event.Wait)), (10, Gen.Const(Event.Join)), (6, Gen.Const(Event.Stop)), (6, Gen.Const(Event.Kill)), (8, Gen.Const(Event.Outage)));
        await Gen.Select(step.Array[20, 80], Gen.Int[0, 1000].Array[80]).SampleAsync(async (events, picks) =>
        {
            var fleet = new Fleet();
            fleet.Join(TimeSpan.FromSeconds(picks[0] % 3));
            var outageUntil = TimeSpan.Zero;
            for (var i = 0; i < events.Length; i++)
            {
                await fleet.ApplyAsync(events[i], picks[i]);
                if (events[i] == Event.Outage)
                {
                    fleet.Ledger.Down = true;
                    outageUntil = fleet.Elapsed + TimeSpan.FromSeconds(5 + (picks[i] % 20));
                }
                // A second of heartbeats; while the ledger is down, and for the timeout after, shares follow the fallback rule.
                for (var t = 0; t < 4; t++)
                {
                    if (fleet.Ledger.Down && fleet.Elapsed >= outageUntil)
                    {
                        fleet.Ledger.Down = false;
                    }
                    await fleet.RunAsync(TimeSpan.FromMilliseconds(250));
                    if (!fleet.Ledger.Down && fleet.Elapsed > outageUntil + Options.MemberTimeout + (Options.HeartbeatInterval * 2))
                    {
                        Assert.True(fleet.Running.Sum(r => r.Share) <= 1 + Precision, $"shares {string.Join(", ", fleet.Running.Select(r => r.Share))} at {fleet.Elapsed}");
                    }
                }
            }
            fleet.Ledger.Down = false;
            await fleet.RunAsync(Options.MemberTimeout * 4);
            Assert.All(fleet.Running, r => Assert.Equal(1.0 / fleet.Running.Count, r.Share, Precision));
        }, iter: 200);
    }

    [Fact]
    public async Task In_any_history_of_starts_joins_kills_and_429s_the_fleet_never_sends_more_than_the_budget_in_any_60_s()
    {
        // An endpoint that counts its limit over a strict sliding minute refuses whatever exceeds the budget in any 60 s:
        // replicas started together, joining, stopping, killed, and cut back by 429s, at Fleet:TargetUtilization's
        // default, never send more.
        var target = TargetForTheProperty;
        var step = Gen.Frequency((76, Gen.Const(Event.Wait)), (10, Gen.Const(Event.Join)), (4, Gen.Const(Event.Stop)), (4, Gen.Const(Event.Kill)), (6, Gen.Const(Event.Throttle)));
        await Gen.Select(Gen.Int[1, Options.MaxReplicas], step.Array[30, 90], Gen.Int[0, 1000].Array[90]).SampleAsync(async (together, events, picks) =>
        {
            var fleet = new Fleet(targetUtilization: target) { Traffic = true };
            fleet.Ledger.Lag = TimeSpan.FromMilliseconds(200);
            for (var i = 0; i < together; i++)
            {
                fleet.Join(TimeSpan.FromMilliseconds(picks[i] % 12 * 250));
            }
            for (var i = 0; i < events.Length; i++)
            {
                await fleet.ApplyAsync(events[i], picks[i], Options.MaxReplicas);
                await fleet.RunAsync(TimeSpan.FromSeconds(1 + (picks[i] % 4)));
            }
            await fleet.RunAsync(TimeSpan.FromSeconds(60));

            var most = fleet.MostInAnyMinute();
            Assert.True(most <= 600_000, $"{most:N0} tokens in one minute (budget 600,000), after {together} started together and {string.Join(' ', events)}");
        }, iter: 60, threads: 1);
    }

    /// <summary>The default; set to 1.0 the property fails (a join after a full minute sends about 1 % over the budget).</summary>
    private static double TargetForTheProperty => new FleetOptions().TargetUtilization;

    [Fact]
    public async Task Replicas_started_together_use_most_of_the_budget_in_their_first_minute()
    {
        // Headroom, not starvation: the start rule and the target leave the fleet most of the budget from the first minute.
        var fleet = new Fleet(targetUtilization: new FleetOptions().TargetUtilization) { Traffic = true };
        fleet.Ledger.Lag = TimeSpan.FromMilliseconds(200);
        for (var i = 0; i < 3; i++)
        {
            fleet.Join();
        }

        await fleet.RunAsync(TimeSpan.FromMinutes(2));

        var perTenSeconds = fleet.GrantedPerTick.Chunk(40).Select(c => c.Sum() * 6 / 6_000).ToList();
        TestContext.Current.TestOutputHelper!.WriteLine("per 10 s, % of the budget's rate: " + string.Join(' ', perTenSeconds));
        var firstMinute = fleet.GrantedPerTick.Take(240).Sum();
        var secondMinute = fleet.GrantedPerTick.Skip(240).Sum();
        Assert.InRange(firstMinute, 0.85 * 600_000, 600_000);
        Assert.InRange(secondMinute, 0.93 * 600_000, 600_000);
    }

    private enum Event
    {
        Throttle,
        Wait,
        Join,
        Stop,
        Kill,
        Outage,
    }

    private sealed class Fleet
    {
        private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
        private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero));
        private readonly DateTimeOffset _start;
        private readonly int _tokensPerMinute;
        private readonly double _targetUtilization;
        private int _next;

        public Fleet(int tokensPerMinute = 600_000, double targetUtilization = 1.0)
        {
            _tokensPerMinute = tokensPerMinute;
            _targetUtilization = targetUtilization;
            _start = _time.GetUtcNow();
            Ledger = new MemoryLedger(_time);
        }

        /// <summary>With traffic, every replica takes all its budget grants each tick (requests of 1,000 tokens: small beside a tick of its share, so the ticks do not waste its rate).</summary>
        public bool Traffic { get; init; }

        /// <summary>With traffic: the tokens the whole fleet was granted in each tick.</summary>
        public List<long> GrantedPerTick { get; } = [];

        /// <summary>The most tokens granted in any 60 s of the history so far.</summary>
        public long MostInAnyMinute()
        {
            var ticks = (int)(TimeSpan.FromMinutes(1) / Tick);
            long sum = 0, most = 0;
            for (var i = 0; i < GrantedPerTick.Count; i++)
            {
                sum += GrantedPerTick[i] - (i >= ticks ? GrantedPerTick[i - ticks] : 0);
                most = Math.Max(most, sum);
            }
            return most;
        }

        public MemoryLedger Ledger { get; }

        public List<Replica> Running { get; } = [];

        public TimeSpan Elapsed => _time.GetUtcNow() - _start;

        public Replica Join(TimeSpan? phase = null)
        {
            var budget = new EndpointRateBudget(_tokensPerMinute, 600, 16_384, _time, targetUtilization: _targetUtilization);
            var service = new FleetBudgetService(Ledger, budget, Options, _time, NullLogger<FleetBudgetService>.Instance, $"r{_next++}");
            service.Begin();
            var replica = new Replica(service, budget) { NextBeat = _time.GetUtcNow() + (phase ?? TimeSpan.Zero) };
            Running.Add(replica);
            return replica;
        }

        public async Task StopAsync(Replica replica)
        {
            Running.Remove(replica);
            try
            {
                await replica.Service.StopAsync(Cancel);
            }
            finally
            {
                replica.Budget.Dispose();
            }
        }

        /// <summary>
        /// A join (up to <paramref name="most"/> replicas), a stop or a kill (of the <paramref name="pick"/>th replica, never
        /// the last), or a 429 for one replica's budget; waits and outages are the caller's.
        /// </summary>
        public async Task ApplyAsync(Event happening, int pick, int most = int.MaxValue)
        {
            switch (happening)
            {
                case Event.Join when Running.Count < most:
                    Join(TimeSpan.FromMilliseconds(pick * 3));
                    break;
                case Event.Stop when Running.Count > 1:
                    await StopAsync(Running[pick % Running.Count]);
                    break;
                case Event.Kill when Running.Count > 1:
                    Kill(Running[pick % Running.Count]);
                    break;
                case Event.Throttle when Running.Count > 0:
                    Running[pick % Running.Count].Budget.Throttled();
                    break;
            }
        }

        public void Kill(Replica replica)
        {
            Running.Remove(replica);
            replica.Budget.Dispose();
        }

        /// <summary>Advances the clock in quarter seconds, each replica heartbeating when its interval is up.</summary>
        public async Task RunAsync(TimeSpan duration)
        {
            var until = _time.GetUtcNow() + duration;
            while (_time.GetUtcNow() < until)
            {
                foreach (var replica in Running.ToList())
                {
                    if (replica.NextBeat <= _time.GetUtcNow())
                    {
                        await replica.Service.HeartbeatAsync(Cancel);
                        replica.NextBeat += Options.HeartbeatInterval;
                    }
                }
                if (Traffic)
                {
                    long granted = 0;
                    foreach (var replica in Running)
                    {
                        granted += await TakeAllAsync(replica.Budget);
                    }
                    GrantedPerTick.Add(granted);
                }
                _time.Advance(Tick);
            }
        }
    }

    /// <summary>Takes every request the budget grants at once, as a replica with a backlog does; the tokens granted.</summary>
    private static async Task<long> TakeAllAsync(EndpointRateBudget budget)
    {
        long granted = 0;
        while (true)
        {
            var tokens = Math.Min(1_000, budget.MaxRequestTokens);
            if (await ImmediateGrant.TryAsync(budget, tokens, Cancel) == Grant.None)
            {
                return granted;
            }
            budget.Finished();
            granted += tokens;
        }
    }

    private sealed record Replica(FleetBudgetService Service, EndpointRateBudget Budget)
    {
        public DateTimeOffset NextBeat { get; set; }

        public double Share => Budget.Share;
    }

    private sealed class MemoryLedger(TimeProvider time) : IFleetLedger
    {
        private readonly Dictionary<string, LedgerEntry> _entries = [];

        // For each replica, the version of every other entry its last heartbeat saw.
        private readonly Dictionary<string, Dictionary<string, int>> _seen = [];

        public bool Down { get; set; }

        /// <summary>
        /// How long another replica's first report stays unseen: heartbeats that overlap (each writes, then lists) do not
        /// see each other's new entries. Zero: every write is seen at once. As in the storage service, whose operations
        /// take effect in one order, a heartbeat always sees the report of a replica whose own listing saw this
        /// replica's entry as it was before this heartbeat's write: that listing came before this write, and its
        /// replica wrote before it listed.
        /// </summary>
        public TimeSpan Lag { get; set; }

        public Task<FleetView> PublishAsync(FleetDemand report, CancellationToken cancellationToken)
        {
            ThrowIfDown();
            var now = time.GetUtcNow();
            var version = _entries.TryGetValue(report.Member, out var before) ? before.Version + 1 : 1;
            _entries[report.Member] = new LedgerEntry(new FleetMember(report, now), before.Version > 0 ? before.FirstSeen : now, version);
            var visible = _entries.Values
                .Where(e => e.Entry.Demand.Member == report.Member || now - e.FirstSeen >= Lag || SawEarlier(e.Entry.Demand.Member, report.Member, version))
                .ToList();
            _seen[report.Member] = visible.ToDictionary(e => e.Entry.Demand.Member, e => e.Version, StringComparer.Ordinal);
            return Task.FromResult(new FleetView(now, [.. visible.Select(e => e.Entry)]));
        }

        /// <summary>Whether <paramref name="other"/>'s last listing saw <paramref name="member"/>'s entry older than <paramref name="version"/>.</summary>
        private bool SawEarlier(string other, string member, int version) =>
            _seen.TryGetValue(other, out var seen) && seen.TryGetValue(member, out var sawVersion) && sawVersion < version;

        public Task RemoveAsync(string member, CancellationToken cancellationToken)
        {
            ThrowIfDown();
            _entries.Remove(member);
            _seen.Remove(member);
            return Task.CompletedTask;
        }

        private readonly record struct LedgerEntry(FleetMember Entry, DateTimeOffset FirstSeen, int Version);

        private void ThrowIfDown()
        {
            if (Down)
            {
                throw new RequestFailedException(503, "The storage account is unreachable.");
            }
        }
    }
}
