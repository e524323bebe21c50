using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Acknowledgement;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Acknowledgement;

/// <summary>Settlement against Azurite: delete when stored, poison with the reason, release for a retry.</summary>
public sealed class AcknowledgementServiceTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly string _queueName = AzuriteFixture.UniqueQueueName("ack");
    private QueueOptions _options = null!;
    private QueueClient _queue = null!;
    private QueueClient _poison = null!;
    private InFlightLimiter _inFlight = null!;
    private readonly LeaseRegistry _leases = new(TimeProvider.System);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly DependencyCircuits _circuits = new(new CircuitOptions { FailureThreshold = 1 }, TimeProvider.System, NullLoggerFactory.Instance);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        // Retry delays are capped by the visibility timeout: one second, so a test can wait for a retry.
        _options = new QueueOptions { ConnectionString = azurite.ConnectionString, Name = _queueName, MaxDequeueCount = 3, MaxUnsettledDeliveries = 3, VisibilityTimeout = TimeSpan.FromSeconds(1) };
        _queue = azurite.Queue(_queueName);
        _poison = azurite.Queue(_queueName + "-poison");
        await _queue.CreateAsync(cancellationToken: Ct);
        await _poison.CreateAsync(cancellationToken: Ct);
        _inFlight = new InFlightLimiter(8);
    }

    public ValueTask DisposeAsync()
    {
        _inFlight.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Stored_job_has_its_message_deleted()
    {
        var lease = await SendAndReceiveAsync("""{"id":"a","text":"x"}""");

        await SettleAsync(new JobOutcome(lease, "a", OutcomeKind.Stored, null));

        Assert.Equal(0, await QueueAssertions.CountAsync(_queue, Ct));
        Assert.Equal(0, await QueueAssertions.CountAsync(_poison, Ct));
    }

    [Fact]
    public async Task Rejected_job_goes_to_the_poison_queue_at_once_wrapped_with_its_reason()
    {
        var body = """{"id":"a","op":"nope"}""";
        var lease = await SendAndReceiveAsync(body);

        await SettleAsync(new JobOutcome(lease, "a", OutcomeKind.Rejected, "'op' is 'nope'"));

        Assert.Equal(0, await QueueAssertions.CountAsync(_queue, Ct));
        var envelope = Assert.Single(await QueueAssertions.DrainAsync(_poison, Ct));
        Assert.Equal("'op' is 'nope'", envelope.GetProperty("error").GetString());
        Assert.Equal(body, envelope.GetProperty("message").GetString());
        Assert.Equal("a", envelope.GetProperty("documentId").GetString());
        Assert.Equal(1, envelope.GetProperty("dequeueCount").GetInt64());
        Assert.Equal(lease.MessageId, envelope.GetProperty("messageId").GetString());
        Assert.True(envelope.GetProperty("failedAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));
    }

    [Fact]
    public async Task A_missing_poison_queue_is_created_and_the_message_poisoned_not_left_to_circulate()
    {
        // Someone deleted the poison queue. Its 404 (QueueNotFound) is no lost lease: before, the poison was skipped
        // as one, and the bad message came back after its lease, again and again.
        await _poison.DeleteAsync(Ct);
        var lease = await SendAndReceiveAsync("""{"id":"a","op":"nope"}""");

        await SettleAsync(new JobOutcome(lease, "a", OutcomeKind.Rejected, "'op' is 'nope'"));

        Assert.Equal(0, await QueueAssertions.CountAsync(_queue, Ct));
        Assert.Equal("'op' is 'nope'", Assert.Single(await QueueAssertions.DrainAsync(_poison, Ct)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Failed_job_below_MaxDequeueCount_is_released_for_a_later_retry_not_poisoned()
    {
        var lease = await SendAndReceiveAsync("""{"id":"a","text":"x"}""");

        await SettleAsync(new JobOutcome(lease, "a", OutcomeKind.Failed, "endpoint unavailable"));

        Assert.Equal(1, await QueueAssertions.CountAsync(_queue, Ct));
        Assert.Equal(0, await QueueAssertions.CountAsync(_poison, Ct));
        // Released with a backoff, so it is not visible again at once.
        Assert.Empty((await _queue.ReceiveMessagesAsync(32, cancellationToken: Ct)).Value);
    }

    [Fact]
    public async Task A_job_that_fails_on_its_own_is_poisoned_at_its_MaxDequeueCount_th_attempt_counted_in_the_message()
    {
        await _queue.SendMessageAsync("""{"id":"a","text":"x"}""", Ct);
        for (var attempt = 1; attempt <= _options.MaxDequeueCount; attempt++)
        {
            var lease = await ReceiveAsync();
            Assert.Equal(attempt - 1, lease.Record.Attempts);
            Assert.Equal("""{"id":"a","text":"x"}""", Encoding.UTF8.GetString(lease.Body.Span));
            await SettleAsync(new JobOutcome(lease, "a", OutcomeKind.Failed, "endpoint unavailable"));
        }

        Assert.Equal(0, await QueueAssertions.CountAsync(_queue, Ct));
        var envelope = Assert.Single(await QueueAssertions.DrainAsync(_poison, Ct));
        Assert.Contains("gave up after 3 attempts; last error: endpoint unavailable", envelope.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("""{"id":"a","text":"x"}""", envelope.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Shutdowns_and_outages_hand_the_message_back_without_using_up_its_attempts()
    {
        // Before, every delivery counted: five rolling restarts poisoned a job that never failed.
        await _queue.SendMessageAsync("""{"id":"a","text":"x"}""", Ct);
        for (var shutdown = 0; shutdown < 4; shutdown++)
        {
            await CreateSettler().ReleaseAsync(await ReceiveAsync(), TimeSpan.Zero, Ct);
        }
        for (var outage = 0; outage < 3; outage++)
        {
            // Reported as an outage where it happened: the endpoint's circuit was open then.
            await SettleAsync(new JobOutcome(await ReceiveAsync(), "a", OutcomeKind.Unavailable, "connection refused"));
        }

        var lease = await ReceiveAsync();
        Assert.Equal(8, lease.DequeueCount);
        Assert.Equal(new DeliveryRecord(0, 7), lease.Record);
        Assert.Null(CreatePolicy().RefuseOnReceipt(lease));
        Assert.Equal(0, await QueueAssertions.CountAsync(_poison, Ct));
    }

    [Fact]
    public async Task A_message_whose_receivers_keep_crashing_is_poisoned_on_receipt_with_that_reason()
    {
        await _queue.SendMessageAsync("""{"id":"a","text":"x"}""", Ct);
        for (var crash = 0; crash < _options.MaxUnsettledDeliveries; crash++)
        {
            // Received, then never settled: its lease runs out, as when the receiver is killed.
            var message = (await _queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1), Ct)).Value.Single();
            await _queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: Ct);
        }

        var lease = await ReceiveAsync();

        Assert.Contains("3 of them never settled (Queue:MaxUnsettledDeliveries is 3)", CreatePolicy().RefuseOnReceipt(lease), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_job_older_than_MaxJobAge_that_fails_is_poisoned_even_during_an_outage()
    {
        var lease = await SendAndReceiveAsync("""{"id":"a","text":"x"}""");
        _time.Advance(_options.MaxJobAge + TimeSpan.FromMinutes(1));

        await SettleAsync(new JobOutcome(lease, "a", OutcomeKind.Unavailable, "connection refused"));

        Assert.Equal(0, await QueueAssertions.CountAsync(_queue, Ct));
        var envelope = Assert.Single(await QueueAssertions.DrainAsync(_poison, Ct));
        Assert.Contains("longer ago than Queue:MaxJobAge (3.00:00:00). Last error: connection refused", envelope.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lost_lease_is_logged_and_skipped_not_thrown()
    {
        var lease = await SendAndReceiveAsync("""{"id":"a","text":"x"}""");
        // Another receiver's update invalidates this pop receipt.
        await _queue.UpdateMessageAsync(lease.MessageId, lease.PopReceipt, visibilityTimeout: TimeSpan.FromMinutes(1), cancellationToken: Ct);

        await SettleAsync(new JobOutcome(lease, "a", OutcomeKind.Stored, null));

        Assert.Equal(1, await QueueAssertions.CountAsync(_queue, Ct));
        Assert.Equal(0, _inFlight.InFlight);
        Assert.Equal(LeaseState.Lost, lease.State);
        Assert.Equal(0, _leases.Count);
    }

    [Fact]
    public async Task Lease_known_to_be_lost_is_not_settled_at_all()
    {
        var lease = await SendAndReceiveAsync("""{"id":"a","text":"x"}""");
        lease.Lost();

        await SettleAsync(new JobOutcome(lease, "a", OutcomeKind.Rejected, "bad"));

        Assert.Equal(1, await QueueAssertions.CountAsync(_queue, Ct));
        Assert.Equal(0, await QueueAssertions.CountAsync(_poison, Ct));
    }

    [Fact]
    public async Task Settled_message_is_no_longer_tracked_for_renewal()
    {
        var lease = await SendAndReceiveAsync("""{"id":"a","text":"x"}""");
        _leases.Track(lease, TimeProvider.System.GetTimestamp());

        await SettleAsync(new JobOutcome(lease, "a", OutcomeKind.Stored, null));

        Assert.Equal(LeaseState.Settled, lease.State);
        Assert.Equal(0, _leases.Count);
    }

    [Fact]
    public void Poison_envelope_that_would_not_fit_a_queue_message_copies_the_original_unchanged()
    {
        var body = JsonSerializer.Serialize(new { id = "big", text = new string('"', 30_000) });
        var lease = new QueueLease("q", "m", "p", 1, Encoding.UTF8.GetBytes(body));

        var poison = PoisonEnvelope.Create(lease, "big", "reason", DateTimeOffset.UtcNow, out var wrapped);

        Assert.False(wrapped);
        Assert.Equal(body, poison);
    }

    [Fact]
    public void Poison_envelope_of_a_json_job_of_20_KB_full_of_quotes_still_wraps_it()
    {
        var body = JsonSerializer.Serialize(new { id = "quotes", text = Enumerable.Repeat("w", 5_000) });
        var lease = new QueueLease("q", "m", "p", 1, Encoding.UTF8.GetBytes(body));

        var poison = PoisonEnvelope.Create(lease, null, "'text' must be a string", DateTimeOffset.UtcNow, out var wrapped);

        Assert.True(wrapped, $"a {body.Length}-byte job made a {poison.Length}-byte envelope");
        Assert.Equal(body, JsonDocument.Parse(poison).RootElement.GetProperty("message").GetString());
    }

    private async Task<QueueLease> SendAndReceiveAsync(string body)
    {
        await _queue.SendMessageAsync(body, Ct);
        return await ReceiveAsync();
    }

    /// <summary>The next delivery of the test's message, waiting out a retry's backoff (at most a second here).</summary>
    private async Task<QueueLease> ReceiveAsync()
    {
        while (true)
        {
            if ((await _queue.ReceiveMessagesAsync(1, TimeSpan.FromMinutes(1), Ct)).Value is [var message])
            {
                return QueueLease.Of(_queueName, message);
            }
            await Task.Delay(100, Ct);
        }
    }

    private MessageSettler CreateSettler() =>
        new(new WorkQueues(QueueClientFactory.Create(_options), _options), _leases, _options, TestMetrics.Create(), TimeProvider.System, NullLogger<MessageSettler>.Instance);

    private SettlementPolicy CreatePolicy() => new(CreateSettler(), _options, TestMetrics.Create(), _time, NullLogger<SettlementPolicy>.Instance);

    private async Task SettleAsync(JobOutcome outcome)
    {
        using var shutdown = TestShutdown.Create();
        var policy = CreatePolicy();
        var outcomes = Channel.CreateUnbounded<JobOutcome>();
        using var service = new AcknowledgementService(outcomes.Reader, policy, TestPipeline.Context(circuits: _circuits, shutdown: shutdown), NullLogger<AcknowledgementService>.Instance);
        // The message holds one in-flight slot on its ticket, as Intake gives it: settling gives it back.
        await _inFlight.AcquireBatchAsync(Ct);
        _inFlight.Release(_inFlight.BatchSize - 1);
        outcome.Lease.Ticket.Hold(_inFlight.Slot());
        await service.StartAsync(Ct);
        await outcomes.Writer.WriteAsync(outcome, Ct);
        while (_inFlight.InFlight > 0)
        {
            await Task.Delay(10, Ct);
        }
        outcomes.Writer.TryComplete();
        await service.StopAsync(Ct);
    }

}
