using System.Collections.Concurrent;

namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>
/// Every message this replica holds, from receive until it is settled or its lease is lost: what the
/// <see cref="LeaseKeeper"/> renews while the work goes on and hands back to the queue at shutdown.
/// </summary>
internal sealed class LeaseRegistry(TimeProvider time)
{
    private readonly ConcurrentDictionary<QueueLease, byte> _held = new();

    public int Count => _held.Count;

    /// <summary>Starts tracking a lease whose visibility was set at <paramref name="receivedAt"/>.</summary>
    public QueueLease Track(QueueLease lease, long receivedAt)
    {
        lease.Renewed(lease.PopReceipt, receivedAt);
        _held.TryAdd(lease, 0);
        return lease;
    }

    public void Forget(QueueLease lease) => _held.TryRemove(lease, out _);

    public IReadOnlyList<QueueLease> Snapshot() => [.. _held.Keys];

    /// <summary>Leases held for at least <paramref name="age"/> since their visibility was last set.</summary>
    public IEnumerable<QueueLease> OlderThan(TimeSpan age) =>
        _held.Keys.Where(lease => time.GetElapsedTime(lease.RenewedAt) >= age);
}
