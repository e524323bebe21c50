using System.Threading.Channels;
using Azure.Storage.Queues.Models;
using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Intake;

/// <summary>
/// The first stage: receives up to 32 messages at a time while in-flight work allows and the dependencies'
/// circuits are closed, hands each lease to the <see cref="LeaseRegistry"/>, parses the messages, sends valid
/// jobs on and rejects invalid ones at once. Never crashes on input or on a queue outage. On shutdown it stops
/// receiving and completes its channel, which lets the later stages drain.
/// </summary>
internal sealed partial class IntakeService(
    WorkQueues queues,
    JobMessageParser parser,
    ClaimCheckStore claimChecks,
    InFlightLimiter inFlight,
    LiveActivity activity,
    ChannelWriter<DocumentJob> jobs,
    LeaseRegistry leases,
    SettlementPolicy policy,
    QueueOptions options,
    PipelineContext context,
    ILogger<IntakeService> logger) : BackgroundService
{
    private TimeProvider Time => context.Time;

    private readonly OutageLog _queueOutage = new($"Queue {options.Name}", logger, context.Time);

    /// <summary>While a circuit is open, how often Intake looks again (a probe's success closes it sooner).</summary>
    private static readonly TimeSpan MaxCircuitWait = TimeSpan.FromMilliseconds(500);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await ReceiveUntilStoppedAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Messages received but not handed on stay in the lease registry and are released at shutdown.
        }
        finally
        {
            jobs.TryComplete();
        }
    }

    /// <summary>Completes the job channel even when the host stops before the receive loop ever ran.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        jobs.TryComplete();
    }

    private async Task ReceiveUntilStoppedAsync(CancellationToken stoppingToken)
    {
        var backoff = new PollingBackoff(options.MaxPollingInterval, new Random());
        await EnsureQueuesAsync(backoff, stoppingToken).ConfigureAwait(false);
        backoff.Reset();
        LogStarted(options.Name, inFlight.Capacity);

        while (!stoppingToken.IsCancellationRequested)
        {
            if (inFlight.InFlight == 0)
            {
                // Nothing held: nothing can be stuck (liveness measures from here).
                context.Progress.Moved();
            }
            var slots = await inFlight.AcquireBatchAsync(stoppingToken).ConfigureAwait(false);
            bool probe;
            try
            {
                probe = await WaitForCircuitsAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                inFlight.Release(slots);
                throw;
            }
            var wanted = probe ? 1 : slots;
            QueueMessage[] messages;
            var receivedAt = Time.GetTimestamp();
            try
            {
                // Not cut off by the stop: the queue may already have leased the messages when the answer is
                // abandoned, and they would stay invisible for their whole visibility timeout. Received while
                // stopping, they are tracked below and handed back at once by the lease keeper.
                var response = await queues.Live
                    .ReceiveMessagesAsync(wanted, options.VisibilityTimeout, context.Shutdown.QueueCall)
                    .ConfigureAwait(false);
                messages = response.Value;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !context.Shutdown.QueueCall.IsCancellationRequested)
            {
                inFlight.Release(slots);
                var delay = backoff.Next();
                _queueOutage.Failed(ex, $"trying again in {delay}");
                await Task.Delay(delay, Time, stoppingToken).ConfigureAwait(false);
                continue;
            }

            _queueOutage.Succeeded();
            inFlight.Release(slots - messages.Length);
            var received = messages
                .Select(m => leases.Track(QueueLease.Of(options.Name, m), receivedAt))
                .ToList();
            // Each message holds one of the batch's slots until it is settled.
            received.ForEach(lease => lease.Ticket.Hold(inFlight.Slot()));
            activity.Received(received.Count);
            if (stoppingToken.IsCancellationRequested)
            {
                LogReceivedWhileStopping(received.Count);
                return;
            }
            if (received.Count == 0)
            {
                await Task.Delay(backoff.Next(), Time, stoppingToken).ConfigureAwait(false);
                continue;
            }

            backoff.Reset();
            context.Metrics.JobReceived(received.Count);
            foreach (var lease in received)
            {
                await AcceptAsync(lease, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits while a dependency's circuit is open; true when the next receive is a one-message probe.</summary>
    private async Task<bool> WaitForCircuitsAsync(CancellationToken stoppingToken)
    {
        bool probe;
        TimeSpan retryIn;
        while (!context.Circuits.TryAdmit(out probe, out retryIn))
        {
            await Task.Delay(retryIn < MaxCircuitWait ? retryIn : MaxCircuitWait, Time, stoppingToken).ConfigureAwait(false);
        }
        return probe;
    }

    private async Task AcceptAsync(QueueLease lease, CancellationToken cancellationToken)
    {
        using var scope = JobLogScope.Begin(logger, lease.MessageId, null);
        if (lease.InsertedOn is { } inserted)
        {
            context.Metrics.Queued(Time.GetUtcNow() - inserted, lease.QueueName);
        }
        // A message seen more often than allowed crashed its earlier receivers: stop the loop here.
        if (policy.RefuseOnReceipt(lease) is { } refusal)
        {
            context.Lifecycle.Rejected(lease, refusal);
            return;
        }

        var parsed = parser.Parse(lease.Body);
        if (parsed.IsClaimCheck)
        {
            var claimed = await claimChecks.ReadAsync(parsed.BlobUri, cancellationToken).ConfigureAwait(false);
            if (claimed.Held is { } held)
            {
                lease.Ticket.Hold(held);
            }
            if (claimed.IsTransient)
            {
                LogClaimCheckUnavailable(lease.MessageId, claimed.Error!);
                context.Lifecycle.Failed(lease, claimed.Error!);
                return;
            }
            var blob = JobMessageParser.Truncate(parsed.BlobUri!);
            parsed = claimed.Content is { } content ? parser.ParseClaimed(content, parsed.ClaimedId) : JobParseResult.Invalid(claimed.Error!);
            if (!parsed.IsValid && claimed.Content is not null)
            {
                // The message itself was fine: say which blob holds the job at fault.
                parsed = JobParseResult.Invalid($"the job in blob '{blob}' is invalid: {parsed.Error}");
            }
        }
        if (!parsed.IsValid)
        {
            LogRejected(lease.MessageId, parsed.Error!);
            context.Lifecycle.Rejected(lease, parsed.Error!);
            return;
        }
        await jobs.WriteAsync(new DocumentJob(lease, parsed.Job), cancellationToken).ConfigureAwait(false);
    }

    private async Task EnsureQueuesAsync(PollingBackoff backoff, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await queues.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                var delay = backoff.Next();
                _queueOutage.Failed(ex, $"trying again in {delay}");
                await Task.Delay(delay, Time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Receiving from queue {Queue} with at most {Capacity} messages in flight")]
    private partial void LogStarted(string queue, int capacity);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} messages arrived while stopping; they are handed back at once")]
    private partial void LogReceivedWhileStopping(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} names a blob that cannot be read now; it is tried again: {Reason}")]
    private partial void LogClaimCheckUnavailable(string messageId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} rejected: {Reason}")]
    private partial void LogRejected(string messageId, string reason);
}
