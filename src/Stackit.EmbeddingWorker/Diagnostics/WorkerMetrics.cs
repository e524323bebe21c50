using System.Diagnostics.Metrics;
using System.Reflection;

namespace Stackit.EmbeddingWorker.Diagnostics;

/// <summary>
/// The worker's instruments, on one <see cref="Meter"/> named <see cref="MeterName"/>. Stages record through the
/// methods here; OpenTelemetry exports them (Prometheus on the management port, OTLP when configured).
/// Names follow OpenTelemetry's conventions; Prometheus shows them with dots as underscores and a unit suffix.
/// </summary>
internal sealed class WorkerMetrics
{
    public const string MeterName = "Stackit.EmbeddingWorker";

    private readonly Counter<long> _received;
    private readonly Counter<long> _stored;
    private readonly Counter<long> _poisoned;
    private readonly Counter<long> _retried;
    private readonly Counter<long> _inputs;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<long> _batchTokens;
    private readonly Histogram<long> _batchInputs;
    private readonly Counter<long> _throttled;
    private readonly Counter<double> _budgetWait;
    private readonly Counter<long> _superseded;
    private readonly Counter<long> _reused;
    private readonly Counter<long> _tokensSaved;
    private readonly Counter<long> _undercounted;
    private readonly Histogram<double> _queueDuration;
    private readonly Histogram<double> _searchableDuration;
    private readonly Counter<long> _leasesLost;
    private readonly Histogram<double> _qdrantDuration;

    public WorkerMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _received = meter.CreateCounter<long>("embedding_worker.jobs.received", "{job}", "Messages received from the work queue.");
        _stored = meter.CreateCounter<long>("embedding_worker.jobs.stored", "{job}", "Jobs whose points are all stored (message deleted).");
        _poisoned = meter.CreateCounter<long>("embedding_worker.jobs.poisoned", "{job}", "Messages moved to the poison queue.");
        _retried = meter.CreateCounter<long>("embedding_worker.jobs.retried", "{job}", "Messages handed back to the queue to be tried again.");
        _inputs = meter.CreateCounter<long>("embedding_worker.inputs", "{input}", "Inputs (chunks) embedded.");
        _tokens = meter.CreateCounter<long>("embedding_worker.tokens", "{token}", "Prompt tokens the endpoint counted.");
        _requests = meter.CreateCounter<long>("embedding_worker.requests", "{request}", "Attempts sent to the embeddings endpoint, by HTTP status (or 'error').");
        _requestDuration = meter.CreateHistogram<double>("embedding_worker.request.duration", "s", "Time from sending an attempt to its response headers.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
        _batchTokens = meter.CreateHistogram<long>("embedding_worker.batch.tokens", "{token}", "Estimated tokens per request sent.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [256, 1024, 2048, 4096, 8192, 16384, 32768] });
        _batchInputs = meter.CreateHistogram<long>("embedding_worker.batch.inputs", "{input}", "Inputs per request sent.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        _throttled = meter.CreateCounter<long>("embedding_worker.throttled", "{request}", "Attempts the endpoint refused with 429 or 503.");
        _budgetWait = meter.CreateCounter<double>("embedding_worker.budget.wait", "s", "Time requests waited for the client-side rate budget.");
        _superseded = meter.CreateCounter<long>("embedding_worker.jobs.superseded", "{job}", "Jobs skipped because Qdrant already holds a newer version of the document.");
        _reused = meter.CreateCounter<long>("embedding_worker.inputs.reused", "{input}", "Unchanged chunks stored again with their stored vector instead of being embedded.");
        _tokensSaved = meter.CreateCounter<long>("embedding_worker.tokens.saved", "{token}", "Estimated tokens not sent to the endpoint because their chunks were unchanged.");
        _undercounted = meter.CreateCounter<long>("embedding_worker.requests.undercounted", "{request}", "Answered requests the endpoint counted more tokens for than the worker had (estimated, or counted with Embeddings:TokenizerFile).");
        double[] seconds = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600];
        _queueDuration = meter.CreateHistogram<double>("embedding_worker.job.queue.duration", "s",
            "Time a message waited in the queue, from its first enqueue to this receive (a handed-back message keeps its first enqueue).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = seconds });
        _searchableDuration = meter.CreateHistogram<double>("embedding_worker.job.searchable.duration", "s",
            "Time from a job's first enqueue until its points are stored in Qdrant (searchable) and its message deleted.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = seconds });
        _leasesLost = meter.CreateCounter<long>("embedding_worker.leases.lost", "{message}",
            "Messages whose lease was lost (their visibility ran out and another receiver took them) at renewal or settlement.");
        _qdrantDuration = meter.CreateHistogram<double>("db.client.operation.duration", "s",
            "Duration of each call to Qdrant (db.system.name qdrant), by operation; failed calls carry error.type (the gRPC status).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        meter.CreateObservableGauge("embedding_worker.build.info", () => new Measurement<int>(1, new KeyValuePair<string, object?>("version", Version)), "{build}",
            "Always 1; the worker's version in its version tag.");
        meter.CreateObservableGauge("embedding_worker.backfill.pending", () => _pendingBackfills.Count, "{collection}",
            "Collections whose recorded model is not this replica's Embeddings:Model (they are written with their own): a backfill to it is pending.");
        Meter = meter;
        // Every counter starts at 0 on the scrape, so rate() and the alerts see its first increment (a series that
        // appears only at its first event has no earlier sample to compare with).
        foreach (var counter in new[] { _received, _stored, _poisoned, _retried, _inputs, _tokens, _throttled, _superseded, _reused, _tokensSaved, _undercounted, _leasesLost })
        {
            counter.Add(0);
        }
        _budgetWait.Add(0);
    }

    internal Meter Meter { get; }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _pendingBackfills = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="collection"/> records another model than this replica is configured with.</summary>
    public void BackfillPending(string collection, bool pending)
    {
        if (pending)
        {
            _pendingBackfills[collection] = true;
        }
        else
        {
            _pendingBackfills.TryRemove(collection, out _);
        }
    }

    public void JobReceived(int count = 1) => _received.Add(count);

    public void JobStored() => _stored.Add(1);

    /// <summary>A message moved to the poison queue; <paramref name="reason"/> is one of <see cref="PoisonReasons"/>.</summary>
    public void JobPoisoned(string reason) => _poisoned.Add(1, new KeyValuePair<string, object?>("error.type", reason));

    /// <summary>A received message waited <paramref name="waited"/> since its first enqueue.</summary>
    public void Queued(TimeSpan waited, string queue) => _queueDuration.Record(Math.Max(0, waited.TotalSeconds), new KeyValuePair<string, object?>("queue", queue));

    /// <summary>A job became searchable <paramref name="sinceEnqueue"/> after its first enqueue.</summary>
    public void Searchable(TimeSpan sinceEnqueue, string queue) => _searchableDuration.Record(Math.Max(0, sinceEnqueue.TotalSeconds), new KeyValuePair<string, object?>("queue", queue));

    /// <summary>A lease was lost at <paramref name="at"/> (renewal, delete, poison, release).</summary>
    public void LeaseLost(string at) => _leasesLost.Add(1, new KeyValuePair<string, object?>("action", at));

    /// <summary>A call to Qdrant took <paramref name="duration"/>; <paramref name="error"/> is its gRPC status when it failed.</summary>
    public void QdrantCalled(string operation, TimeSpan duration, string? error)
    {
        var tags = new System.Diagnostics.TagList
        {
            { "db.system.name", "qdrant" },
            { "db.operation.name", operation },
        };
        if (error is not null)
        {
            tags.Add("error.type", error);
        }
        _qdrantDuration.Record(duration.TotalSeconds, tags);
    }

    /// <summary>The worker's version: the assembly's informational version without its source hash.</summary>
    public static string Version { get; } =
        (typeof(WorkerMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown").Split('+')[0];

    public void JobRetried() => _retried.Add(1);

    public void JobSuperseded() => _superseded.Add(1);

    public void Reused(int inputs, long estimatedTokens)
    {
        _reused.Add(inputs);
        _tokensSaved.Add(estimatedTokens);
    }

    public void Embedded(int inputs, long promptTokens)
    {
        _inputs.Add(inputs);
        _tokens.Add(promptTokens);
    }

    public void Undercounted() => _undercounted.Add(1);

    public void RequestSent(int estimatedTokens, int inputs)
    {
        _batchTokens.Record(estimatedTokens);
        _batchInputs.Record(inputs);
    }

    public void Attempted(int? status, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("http.response.status_code", status is { } code ? code.ToString(System.Globalization.CultureInfo.InvariantCulture) : "error");
        _requests.Add(1, tag);
        _requestDuration.Record(duration.TotalSeconds, tag);
        if (status is 429 or 503)
        {
            _throttled.Add(1);
        }
    }

    public void WaitedForBudget(TimeSpan wait)
    {
        if (wait > TimeSpan.Zero)
        {
            _budgetWait.Add(wait.TotalSeconds);
        }
    }
}
