using System.Threading.Channels;
using Azure;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Stackit.EmbeddingWorker.Acknowledgement;

namespace Stackit.EmbeddingWorker.Intake;

/// <summary>
/// The first stage: receives up to 32 messages at a time while in-flight work allows, parses them, sends
/// valid jobs on and rejects invalid ones at once. Never crashes on input or on a queue outage.
/// </summary>
internal sealed partial class IntakeService(
    WorkQueues queues,
    JobMessageParser parser,
    InFlightLimiter inFlight,
    ChannelWriter<DocumentJob> jobs,
    OutcomeReporter outcomes,
    QueueOptions options,
    TimeProvider time,
    ILogger<IntakeService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = new PollingBackoff(options.MaxPollingInterval, new Random());
        await EnsureQueuesAsync(backoff, stoppingToken).ConfigureAwait(false);
        backoff.Reset();
        LogStarted(options.Name, inFlight.Capacity);

        while (!stoppingToken.IsCancellationRequested)
        {
            var slots = await inFlight.AcquireBatchAsync(stoppingToken).ConfigureAwait(false);
            QueueMessage[] messages;
            try
            {
                var response = await queues.Live
                    .ReceiveMessagesAsync(slots, options.VisibilityTimeout, stoppingToken)
                    .ConfigureAwait(false);
                messages = response.Value;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                inFlight.Release(slots);
                var delay = backoff.Next();
                LogReceiveFailed(ex, options.Name, (ex as RequestFailedException)?.Status ?? 0, delay);
                await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
                continue;
            }

            inFlight.Release(slots - messages.Length);
            if (messages.Length == 0)
            {
                await Task.Delay(backoff.Next(), time, stoppingToken).ConfigureAwait(false);
                continue;
            }

            backoff.Reset();
            foreach (var message in messages)
            {
                await AcceptAsync(message, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task AcceptAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        var lease = new QueueLease(options.Name, message.MessageId, message.PopReceipt, message.DequeueCount, message.Body.ToMemory());

        // A message seen more often than allowed crashed its earlier receivers: stop the loop here.
        if (message.DequeueCount > options.MaxDequeueCount)
        {
            await outcomes.RejectedAsync(lease, $"delivered {message.DequeueCount} times without being settled (Queue:MaxDequeueCount is {options.MaxDequeueCount}); earlier receivers likely crashed on it.", cancellationToken).ConfigureAwait(false);
            return;
        }

        var parsed = parser.Parse(lease.Body);
        if (!parsed.IsValid)
        {
            LogRejected(message.MessageId, parsed.Error);
            await outcomes.RejectedAsync(lease, parsed.Error, cancellationToken).ConfigureAwait(false);
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
                LogReceiveFailed(ex, options.Name, (ex as RequestFailedException)?.Status ?? 0, delay);
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Receiving from queue {Queue} with at most {Capacity} messages in flight")]
    private partial void LogStarted(string queue, int capacity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue} unavailable (status {Status}); trying again in {Delay}")]
    private partial void LogReceiveFailed(Exception exception, string queue, int status, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} rejected: {Reason}")]
    private partial void LogRejected(string messageId, string reason);
}
