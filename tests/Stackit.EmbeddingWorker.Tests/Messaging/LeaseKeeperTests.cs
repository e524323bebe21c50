using Azure.Storage.Queues;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Testing;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Messaging;

/// <summary>Renewal, loss and release of leases against Azurite; when to renew is decided on a fake clock.</summary>
public sealed class LeaseKeeperTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly string _queueName = AzuriteFixture.UniqueQueueName("lease");
    private readonly FakeTimeProvider _time = new();
    private QueueClient _queue = null!;
    private LeaseRegistry _leases = null!;
    private LeaseKeeper _keeper = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var options = new QueueOptions { ConnectionString = azurite.ConnectionString, Name = _queueName, VisibilityTimeout = TimeSpan.FromMinutes(2) };
        _queue = azurite.Queue(_queueName);
        await _queue.CreateAsync(cancellationToken: Ct);
        _leases = new LeaseRegistry(_time);
        var queues = new WorkQueues(QueueClientFactory.Create(options), options);
        var settler = new MessageSettler(queues, _leases, options, TestMetrics.Create(), _time, NullLogger<MessageSettler>.Instance);
        _keeper = new LeaseKeeper(_leases, queues, settler, options, TestMetrics.Create(), _time, NullLogger<LeaseKeeper>.Instance);
    }

    public ValueTask DisposeAsync()
    {
        _keeper.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Lease_is_renewed_only_once_half_its_visibility_has_passed_and_keeps_the_newest_receipt()
    {
        var lease = await ReceiveAsync();
        var firstReceipt = lease.PopReceipt;

        _time.Advance(TimeSpan.FromSeconds(59));
        await _keeper.RenewDueAsync(Ct);
        Assert.Equal(firstReceipt, lease.PopReceipt);

        _time.Advance(TimeSpan.FromSeconds(1));
        await _keeper.RenewDueAsync(Ct);
        Assert.NotEqual(firstReceipt, lease.PopReceipt);
        Assert.Equal(LeaseState.Held, lease.State);

        // The renewed receipt is the one that works, and the message is still invisible to others.
        Assert.Empty((await _queue.ReceiveMessagesAsync(32, cancellationToken: Ct)).Value);
        await _queue.DeleteMessageAsync(lease.MessageId, lease.PopReceipt, Ct);
    }

    [Fact]
    public async Task Storage_that_does_not_answer_is_logged_and_tried_again_never_thrown()
    {
        // A closed loopback port: after its retries Azure.Core gives up with an AggregateException, not a
        // RequestFailedException. Thrown out of the keeper, it stopped the host.
        var port = FreePort.OnLoopback();
        var options = new QueueOptions
        {
            ConnectionString = AzuriteProcess.ForEndpoints($"http://127.0.0.1:{port}/devstoreaccount1", $"http://127.0.0.1:{port}/devstoreaccount1"),
            Name = "unreachable",
            VisibilityTimeout = TimeSpan.FromMinutes(2),
        };
        var client = new QueueServiceClient(options.ConnectionString, new QueueClientOptions { Retry = { MaxRetries = 1, Delay = TimeSpan.FromMilliseconds(10) } });
        var queues = new WorkQueues(client, options);
        var leases = new LeaseRegistry(_time);
        var settler = new MessageSettler(queues, leases, options, TestMetrics.Create(), _time, NullLogger<MessageSettler>.Instance);
        using var keeper = new LeaseKeeper(leases, queues, settler, options, TestMetrics.Create(), _time, NullLogger<LeaseKeeper>.Instance);
        var lease = leases.Track(new QueueLease("unreachable", "message-1", "receipt-1", 1, ReadOnlyMemory<byte>.Empty), _time.GetTimestamp());
        _time.Advance(TimeSpan.FromMinutes(1));

        await keeper.RenewDueAsync(Ct);
        await keeper.ReleaseAllAsync(Ct);

        Assert.Equal(LeaseState.Held, lease.State);
        Assert.Equal("receipt-1", lease.PopReceipt);
    }

    [Fact]
    public async Task Lease_lost_to_another_receiver_is_marked_lost_and_no_longer_renewed()
    {
        var lease = await ReceiveAsync();
        // Another receiver's update (as after an expired lease) invalidates this replica's receipt.
        await _queue.UpdateMessageAsync(lease.MessageId, lease.PopReceipt, visibilityTimeout: TimeSpan.FromMinutes(1), cancellationToken: Ct);

        _time.Advance(TimeSpan.FromMinutes(1));
        await _keeper.RenewDueAsync(Ct);

        Assert.Equal(LeaseState.Lost, lease.State);
        Assert.Equal(0, _leases.Count);
    }

    [Fact]
    public async Task Lease_being_settled_is_not_renewed_underneath_the_settle()
    {
        var lease = await ReceiveAsync();
        var receipt = lease.PopReceipt;
        _time.Advance(TimeSpan.FromMinutes(1));

        using (await lease.TakeTurnAsync(Ct))
        {
            await _keeper.RenewDueAsync(Ct);
            Assert.Equal(receipt, lease.PopReceipt);
            await _queue.DeleteMessageAsync(lease.MessageId, receipt, Ct);
        }
    }

    [Fact]
    public async Task Messages_are_handed_back_even_when_the_hosts_stop_deadline_has_passed()
    {
        // Draining took the whole shutdown timeout (a loaded machine, a slow last request): the host's token is
        // cancelled by the time the lease keeper stops. Before, nothing was released then.
        for (var i = 0; i < 3; i++)
        {
            await ReceiveAsync();
        }
        using var passed = new CancellationTokenSource();
        await passed.CancelAsync();

        await _keeper.StopAsync(passed.Token);

        Assert.Equal(3, (await _queue.ReceiveMessagesAsync(32, cancellationToken: Ct)).Value.Length);
    }

    [Fact]
    public async Task At_stop_every_message_still_held_becomes_visible_again_at_once()
    {
        for (var i = 0; i < 5; i++)
        {
            await ReceiveAsync();
        }
        var settled = await ReceiveAsync();
        settled.Settled();

        await _keeper.StopAsync(Ct);

        Assert.Equal(5, (await _queue.ReceiveMessagesAsync(32, cancellationToken: Ct)).Value.Length);
        Assert.Same(settled, Assert.Single(_leases.Snapshot()));
    }

    private async Task<QueueLease> ReceiveAsync()
    {
        await _queue.SendMessageAsync("""{"id":"a","text":"x"}""", Ct);
        var message = (await _queue.ReceiveMessagesAsync(1, TimeSpan.FromMinutes(2), Ct)).Value.Single();
        var lease = new QueueLease(_queueName, message.MessageId, message.PopReceipt, message.DequeueCount, message.Body.ToMemory());
        return _leases.Track(lease, _time.GetTimestamp());
    }
}
