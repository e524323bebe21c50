using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// Keeps this replica's <see cref="EndpointRateBudget.Share"/> of the project's budget. Every
/// <c>Fleet:HeartbeatInterval</c> it reports what it used and waited for, reads every replica's report from the
/// <see cref="IFleetLedger"/>, and takes its part of <see cref="FleetShares.Allocate"/> over the replicas heard of
/// within <c>Fleet:MemberTimeout</c>. A smaller share applies at once; a larger one only when two heartbeats in a row
/// grant it, so the others have lowered theirs first and the shares never add up to more than the budget for longer
/// than a heartbeat — unless it grows only because replicas left or aged out (none joined): then at once. At shutdown
/// (after the pipeline has drained) the replica removes its entry, and the others take its share at their next
/// heartbeats; a killed replica's entry ages out after <c>Fleet:MemberTimeout</c>. Without
/// the ledger for longer than that, the replica falls back to the budget divided by the last count of replicas it
/// saw (<c>Fleet:MaxReplicas</c> if it never saw one), never the whole budget of a fleet; the adaptive concurrency
/// limit still backs off from any 429. A replica starts with no share; its first heartbeat gives it at most
/// 1/<c>Fleet:MaxReplicas</c> when it finds no replica but those starting too (replicas started together find the
/// ledger empty or holding only first reports), else nothing; its second its part of the split.
/// </summary>
internal sealed partial class FleetBudgetService(
    IFleetLedger ledger,
    EndpointRateBudget budget,
    FleetOptions options,
    TimeProvider time,
    ILogger<FleetBudgetService> logger,
    string? member = null,
    string model = "") : BackgroundService
{
    private static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(5);

    // A replica that joins others waits one heartbeat at no share, until they have made room for it.
    private double _previousTarget;
    private long _startedAt;
    private long? _lastContact;
    private int _beats;
    private bool _granted;
    private volatile int _lastCount;
    private bool _degraded;
    private HashSet<string> _members = new(StringComparer.Ordinal);

    // Each other member's share in this replica's last two splits (the smaller is what it surely held), while it was
    // established (past its first report): what a killed one leaves unused until it ages out.
    private Dictionary<string, (double Last, double Before)> _othersShares = new(StringComparer.Ordinal);

    /// <summary>This replica's name in the ledger: the host name (the pod's name) and a random suffix.</summary>
    public string Member { get; } = member ?? $"{Sanitize(Environment.MachineName)}-{Guid.NewGuid().ToString("N")[..12]}";

    /// <summary>The replicas counted in the last heartbeat that reached the ledger.</summary>
    public int? Members => _lastCount is var count and > 0 ? count : null;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Begin();
        return base.StartAsync(cancellationToken);
    }

    /// <summary>Until it reaches the ledger (the first heartbeat, at once), the replica sends nothing.</summary>
    internal void Begin()
    {
        _startedAt = time.GetTimestamp();
        budget.SetShare(0);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(LeaveTimeout, time);
        try
        {
            await ledger.RemoveAsync(Member, timeout.Token).ConfigureAwait(false);
            LogLeft(Member);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || timeout.IsCancellationRequested)
        {
            LogLeaveFailed(Member, ex.GetType().Name, options.MemberTimeout);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.HeartbeatInterval, time);
        try
        {
            do
            {
                await HeartbeatAsync(stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One round: report, read, take the share.</summary>
    internal async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        var (live, backfill) = budget.TakeDemand();
        var mine = new FleetDemand(Member, live, backfill, Starting: _beats == 0);
        FleetView view;
        try
        {
            view = await ledger.PublishAsync(mine, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Unreachable(ex);
            return;
        }
        _lastContact = time.GetTimestamp();

        var alive = view.Members
            .Where(m => m.Demand.Member != Member && view.Now - m.LastSeen <= options.MemberTimeout)
            .Select(m => m.Demand)
            .Append(mine)
            .ToList();
        var split = FleetShares.Allocate(alive);
        var target = split[Member];
        var credit = UnusedBySilent(view, alive, split);
        var members = alive.Select(d => d.Member).ToHashSet(StringComparer.Ordinal);
        // A larger share waits a heartbeat so the others lower theirs first; when it grows only because replicas left
        // (or aged out) and none joined, nobody has to lower anything, and it applies at once.
        var share = alive.Count == 1 || members.IsProperSubsetOf(_members) ? target : Math.Min(target, _previousTarget);
        _previousTarget = target;
        _members = members;
        if (++_beats < 2)
        {
            // Replicas started together (a rollout, a scale from zero) find the ledger empty at their first heartbeat,
            // or holding only others' first reports: until it has seen the ledger twice, a replica takes no more than
            // its part of the most replicas that may be starting with it. One that finds a replica already running
            // waits a heartbeat at no share, until the others have made room for it.
            share = alive.All(d => d.Member == Member || d.Starting) ? Math.Min(target, 1.0 / options.MaxReplicas) : 0;
        }
        if (_lastCount != alive.Count || _degraded)
        {
            LogFleet(alive.Count, share, model);
        }
        _degraded = false;
        _lastCount = alive.Count;
        Grant(share);
        if (credit > 0)
        {
            // After the new share: the buckets hold up to a second of it.
            budget.Credit(credit);
            LogCredited(credit * 60, alive.Count);
        }
        if (logger.IsEnabled(LogLevel.Debug))
        {
            LogHeartbeat(alive.Count, string.Join(", ", alive.Select(d => $"{d.Member}: live {d.Live:0.###}, backfill {d.Backfill:0.###}")), target, share);
        }

        await ForgetSilentAsync(view, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A replica that aged out of the split (killed: its entry is still in the ledger, unrefreshed) sent nothing since a
    /// heartbeat after its last report, or it would have reported again; its share went unused from then until now, while
    /// the others still held theirs without it. That much of the budget (in minutes of it) is handed back at once, split
    /// evenly among the replicas counted now, each crediting its part to its own buckets
    /// (<see cref="EndpointRateBudget.Credit"/>): the fleet then sends in the minute of a kill what the budget allowed,
    /// not a few seconds of a share less. The share counted is the smaller of the last two splits, and none for a replica
    /// seen at its first report only, so no more is handed back than it surely held.
    /// </summary>
    private double UnusedBySilent(FleetView view, List<FleetDemand> alive, IReadOnlyDictionary<string, double> split)
    {
        var aged = view.Members.Where(m => m.Demand.Member != Member && view.Now - m.LastSeen > options.MemberTimeout).ToDictionary(m => m.Demand.Member, m => m.LastSeen, StringComparer.Ordinal);
        double unused = 0;
        foreach (var (other, shares) in _othersShares)
        {
            if (aged.TryGetValue(other, out var lastSeen))
            {
                var silent = view.Now - lastSeen - options.HeartbeatInterval;
                unused += Math.Min(shares.Last, shares.Before) * Math.Max(0, silent.TotalMinutes);
            }
        }
        var next = new Dictionary<string, (double, double)>(StringComparer.Ordinal);
        foreach (var demand in alive.Where(d => d.Member != Member && !d.Starting))
        {
            next[demand.Member] = (split[demand.Member], _othersShares.TryGetValue(demand.Member, out var known) ? known.Last : 0);
        }
        _othersShares = next;
        return unused / alive.Count;
    }

    /// <summary>Entries of replicas silent for three timeouts (killed, never restarted) are removed, a few per round.</summary>
    private async Task ForgetSilentAsync(FleetView view, CancellationToken cancellationToken)
    {
        foreach (var silent in view.Members.Where(m => view.Now - m.LastSeen > options.MemberTimeout * 3).Take(4))
        {
            try
            {
                await ledger.RemoveAsync(silent.Demand.Member, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private void Unreachable(Exception ex)
    {
        if (time.GetElapsedTime(_lastContact ?? _startedAt) <= options.MemberTimeout)
        {
            // The others still count this replica and it keeps its share until it would have aged out of theirs.
            LogHeartbeatFailed(ex.GetType().Name, QueueErrors.IsUnavailable(ex) ? "storage unreachable" : ex.Message);
            return;
        }
        var replicas = _lastCount > 0 ? _lastCount : options.MaxReplicas;
        var share = 1.0 / replicas;
        if (!_degraded)
        {
            LogDegraded(ex.GetType().Name, QueueErrors.IsUnavailable(ex) ? "storage unreachable" : ex.Message, replicas);
            _degraded = true;
        }
        _previousTarget = share;
        Grant(share);
    }

    /// <summary>
    /// Sets the share. The first one above nothing starts with full buckets (a second of it), as a replica with a budget
    /// of its own does, so its first request does not wait for them to fill: the burst every bucket allows, which the
    /// headroom covers.
    /// </summary>
    private void Grant(double share)
    {
        budget.SetShare(share, fill: !_granted && share > 0);
        _granted |= share > 0;
    }

    private static string Sanitize(string name) =>
        new([.. name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '-').Take(46)]);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rate budget shared by {Replicas} replica(s); this one's share is {Share:P1} (model {Model})")]
    private partial void LogFleet(int replicas, double share, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "A replica aged out of the fleet; this one takes back {Seconds:0.00} s of the budget its share left unused (of {Replicas} replica(s) now)")]
    private partial void LogCredited(double seconds, int replicas);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Fleet of {Replicas}: {Demands}; this replica's target {Target:0.###}, share {Share:0.###}")]
    private partial void LogHeartbeat(int replicas, string demands, double target, double share);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not reach the fleet ledger ({Error}: {Reason}); keeping this replica's share for now")]
    private partial void LogHeartbeatFailed(string error, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The fleet ledger is unreachable ({Error}: {Reason}); this replica uses 1/{Replicas} of the rate budget until it is back")]
    private partial void LogDegraded(string error, string reason, int replicas);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Member} left the fleet; its share of the rate budget returns to the others")]
    private partial void LogLeft(string member);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {Member} could not remove its fleet entry ({Error}); the others take its share after Fleet:MemberTimeout ({Timeout})")]
    private partial void LogLeaveFailed(string member, string error, TimeSpan timeout);
}
