using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Azure;
using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Embeddings.Throttling;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Management;

/// <summary>
/// The gauges. Most read their value when exported; the queues' lengths and oldest messages cost round trips (a
/// properties read and a peek per queue: the work queue, the backfill queue when backfills are on, and their poison
/// queues), so they are polled every <c>Management:QueueDepthInterval</c> instead. A failed poll keeps the last values,
/// and <c>embedding_worker.queue.poll.age</c> says how old they are.
/// </summary>
internal sealed partial class PipelineGauges : BackgroundService
{
    // Each queue's last successful poll, kept whole: the depth, the oldest message and the moment they were read.
    private readonly ConcurrentDictionary<string, QueuePoll> _polls = new(StringComparer.Ordinal);
    private readonly WorkQueues _queues;
    private readonly string[] _queueNames;
    private readonly ManagementOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<PipelineGauges> _logger;

    public PipelineGauges(WorkerMetrics metrics, LeaseRegistry leases, AdaptiveConcurrencyLimit concurrency, WorkQueues queues, QueueOptions queue,
        PipelineChannels channels, ByteBudget claimedBytes, ManagementOptions options, TimeProvider time, ILogger<PipelineGauges> logger,
        RateBudgets budgets, EmbeddingsOptions embeddings, Backfill.BackfillOptions backfill, DependencyCircuits circuits, FleetBudgets? fleet = null)
    {
        _queues = queues;
        _queueNames = backfill.Enabled
            ? [queue.Name, QueueOptions.PoisonQueueOf(queue.Name), backfill.QueueName(queue.Name), QueueOptions.PoisonQueueOf(backfill.QueueName(queue.Name))]
            : [queue.Name, QueueOptions.PoisonQueueOf(queue.Name)];
        _options = options;
        _time = time;
        _logger = logger;
        var meter = metrics.Meter;
        meter.CreateObservableGauge("embedding_worker.circuit.open", () => new[]
            {
                new Measurement<int>(circuits.Embeddings.State == CircuitState.Closed ? 0 : 1, new KeyValuePair<string, object?>("dependency", "embeddings")),
                new Measurement<int>(circuits.VectorStore.State == CircuitState.Closed ? 0 : 1, new KeyValuePair<string, object?>("dependency", "qdrant")),
            }, "{circuit}", "1 while the dependency's circuit is open or probing (intake paused), 0 while it is closed.");
        meter.CreateObservableGauge("embedding_worker.messages.in_flight", () => leases.Count, "{message}", "Messages received and not yet settled.");
        meter.CreateObservableGauge("embedding_worker.claimed_bytes.held", () => claimedBytes.Held, "By", "Bytes of claimed job bodies held now (Blobs:MaxInFlightBytes bounds them).");
        meter.CreateObservableGauge("embedding_worker.requests.in_flight", () => concurrency.InFlight, "{request}", "Requests to the embeddings endpoint in flight.");
        meter.CreateObservableGauge("embedding_worker.requests.limit", () => concurrency.Limit, "{request}", "The adaptive concurrency limit now.");
        meter.CreateObservableGauge("embedding_worker.budget.share",
            () => budgets.All.Select(b => new Measurement<double>(b.Value.IsLimited ? b.Value.Share : 1.0, Model(b.Key))), "1",
            "This replica's fraction of a model's rate budget now (Embeddings:TokensPerMinute/RequestsPerMinute or ModelBudgets, shared with the fleet).");
        meter.CreateObservableGauge("embedding_worker.fleet.replicas", () => fleet?.Members(embeddings.Model) ?? 1, "{replica}",
            "Replicas sharing the rate budget of Embeddings:Model, as the last heartbeat counted them.");
        meter.CreateObservableGauge("embedding_worker.stage.waiting", () => (IEnumerable<Measurement<int>>)
            [
                Waiting("jobs", channels.Jobs.Reader.Count),
                Waiting("deletions", channels.Deletions.Reader.Count),
                Waiting("chunks", channels.Chunks.Reader.Count),
                Waiting("batches", channels.Batches.Reader.Count),
                Waiting("copy_chunks", channels.CopyChunks.Reader.Count),
                Waiting("copy_batches", channels.CopyBatches.Reader.Count),
                Waiting("embedded", channels.Embedded.Reader.Count),
            ],
            "{item}", "Items waiting in the channel before a stage: where the pipeline is held up.");
        meter.CreateObservableGauge("embedding_worker.queue.depth",
            () => _polls.Select(p => new Measurement<long>(p.Value.Depth, Queue(p.Key))),
            "{message}", "Approximate message count per queue, as last polled.");
        meter.CreateObservableGauge("embedding_worker.queue.oldest_message.age",
            () => _polls.Select(p => new Measurement<double>(p.Value.Oldest is { } at ? Math.Max(0, (_time.GetUtcNow() - at).TotalSeconds) : 0, Queue(p.Key))),
            "s", "How long the oldest message of each queue has waited since it was enqueued (0 when the queue is empty), as last polled.");
        meter.CreateObservableGauge("embedding_worker.queue.poll.age",
            () => _polls.Select(p => new Measurement<double>(_time.GetElapsedTime(p.Value.At).TotalSeconds, Queue(p.Key))),
            "s", "Seconds since each queue's depth and oldest message were last read: values this old when a poll fails.");
    }

    private static KeyValuePair<string, object?> Queue(string queue) => new("queue", queue);

    private static KeyValuePair<string, object?> Model(string model) => new("model", model);

    private static Measurement<int> Waiting(string channel, int count) => new(count, new KeyValuePair<string, object?>("channel", channel));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.QueueDepthInterval, _time);
        do
        {
            await PollQueueDepthsAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task PollQueueDepthsAsync(CancellationToken cancellationToken)
    {
        foreach (var name in _queueNames)
        {
            try
            {
                var depth = await _queues.ApproximateLengthAsync(name, cancellationToken).ConfigureAwait(false) ?? 0;
                var oldest = await _queues.OldestInsertedAsync(name, cancellationToken).ConfigureAwait(false);
                _polls[name] = new QueuePoll(depth, oldest, _time.GetTimestamp());
            }
            catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException)
            {
                LogPollFailed(name, ex.Message);
            }
        }
    }

    private readonly record struct QueuePoll(long Depth, DateTimeOffset? Oldest, long At);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not read the length of queue {Queue}: {Reason}")]
    private partial void LogPollFailed(string queue, string reason);
}
