using System.Threading.Channels;
using Azure;
using Azure.Storage.Queues.Models;
using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Backfill;

/// <summary>
/// A replica's share of a backfill, as a source of the live pipeline: while its live queue is empty and both
/// dependencies answer, it takes up to <c>Backfill:ConcurrentPages</c> pages from the backfill queue, reads each
/// page's documents from the source collection it names, and sends one job per document — a copy with its
/// stored chunks, into the page's target — through the same preparation, batching, embedding and vector-store
/// stages as live work. A page's message is leased, renewed and settled like a live one (the settlement policy),
/// once all its documents are reported: deleted when all are stored, poisoned when one can never be copied, else
/// tried again after a backoff. Copies are ordered by their source's write time, so a copy read before a newer
/// change never overwrites or deletes what that change wrote; a document gone from the source is deleted from the
/// target.
/// </summary>
internal sealed partial class BackfillService(
    WorkQueues queues,
    ChannelWriter<DocumentJob> jobs,
    IBackfillSource source,
    PageAuthority authority,
    LeaseRegistry leases,
    SettlementPolicy policy,
    LiveActivity activity,
    BackfillOptions options,
    QueueOptions queue,
    PipelineContext context,
    ILogger<BackfillService> logger) : BackgroundService
{
    private static readonly TimeSpan BusyWait = TimeSpan.FromSeconds(1);

    private readonly PageSlots _pages = new(options.ConcurrentPages);
    private bool _poisonQueueReady;
    private readonly OutageLog _queueOutage = new($"Backfill queue {options.QueueName(queue.Name)}", logger, context.Time);

    private string QueueName => options.QueueName(queue.Name);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Enabled)
        {
            return;
        }
        var backoff = new PollingBackoff(queue.MaxPollingInterval, new Random());
        // Pages being read and handed on: each holds its slot, so there are never more than the slots; the next receive
        // does not wait for them (a page's read and the next page's receive overlap).
        var starting = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (!activity.IsIdle || context.Circuits.AnyOpen)
                {
                    await Task.Delay(BusyWait, context.Time, stoppingToken).ConfigureAwait(false);
                    continue;
                }
                // A free page slot first: pages in work are bounded, whatever the backlog.
                var first = await _pages.TakeAsync(stoppingToken).ConfigureAwait(false);
                var pages = await ReceiveAsync(_pages.Free + 1, stoppingToken).ConfigureAwait(false);
                if (pages.Length == 0)
                {
                    first.Dispose();
                    await Task.Delay(backoff.Next(), context.Time, stoppingToken).ConfigureAwait(false);
                    continue;
                }
                backoff.Reset();
                var slots = new PageSlots.Claim[pages.Length];
                for (var i = 0; i < pages.Length; i++)
                {
                    slots[i] = i == 0 ? first : await _pages.TakeAsync(stoppingToken).ConfigureAwait(false);
                    // Each page holds its slot until its message is settled, whatever became of it.
                    pages[i].Lease.Ticket.Hold(slots[i]);
                }
                for (var i = 0; i < pages.Length; i++)
                {
                    starting.Add(StartAsync(pages[i].Lease, pages[i].Message, slots[i], stoppingToken));
                }
                await ObserveAsync(starting, all: false).ConfigureAwait(false);
            }
            await ObserveAsync(starting, all: true).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException && stoppingToken.IsCancellationRequested)
        {
            // Stopping: pages in work stay leased and are handed back by the lease keeper.
            await Task.WhenAll(starting).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Forgets the pages that have been handed on (or, with <paramref name="all"/>, waits for every one); a page whose
    /// start failed other than by the stop ends the service, as it did when the loop awaited each page.
    /// </summary>
    private static async Task ObserveAsync(List<Task> starting, bool all)
    {
        if (all)
        {
            await Task.WhenAll(starting).ConfigureAwait(false);
        }
        foreach (var done in starting.Where(t => t.IsCompleted).ToList())
        {
            starting.Remove(done);
            await done.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Receives pages and tracks their leases at once, so a page that the stop leaves unstarted is handed back too.
    /// The receive is not cut off by the stop (see <see cref="PipelineShutdown.QueueCall"/>).
    /// </summary>
    private async Task<(QueueMessage Message, QueueLease Lease)[]> ReceiveAsync(int count, CancellationToken cancellationToken)
    {
        try
        {
            var at = context.Time.GetTimestamp();
            var messages = (await queues.Get(QueueName).ReceiveMessagesAsync(count, options.VisibilityTimeout, context.Shutdown.QueueCall).ConfigureAwait(false)).Value;
            _queueOutage.Succeeded();
            var received = Array.ConvertAll(messages, m => (m, leases.Track(QueueLease.Of(QueueName, m), at)));
            if (received.Length > 0 && !_poisonQueueReady)
            {
                await queues.PoisonOf(QueueName).CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                _poisonQueueReady = true;
            }
            return received;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // No backfill queue (none ever ran), or storage unavailable: tried again after the backoff.
            if (ex is not RequestFailedException { Status: 404 })
            {
                _queueOutage.Failed(ex, "trying again after the backoff");
            }
            return [];
        }
    }

    /// <summary>
    /// Turns one page into copy jobs on the pipeline; its slot is free again when its message is settled, and mostly
    /// free at once when the page embeds nothing (<see cref="PageSlots"/>).
    /// </summary>
    private async Task StartAsync(QueueLease lease, QueueMessage message, PageSlots.Claim slot, CancellationToken cancellationToken)
    {
        var work = await ReadAsync(lease, message, cancellationToken).ConfigureAwait(false);
        if (work is null)
        {
            return;
        }
        if (work.TrueForAll(EmbedsNothing))
        {
            slot.Shrink(work.Count, options.PageSize);
        }
        foreach (var job in work)
        {
            await jobs.WriteAsync(job, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The page's copy jobs, or null when the page was settled (refused) or must be tried again.</summary>
    private async Task<List<DocumentJob>?> ReadAsync(QueueLease lease, QueueMessage message, CancellationToken cancellationToken)
    {
        if (policy.RefuseOnReceipt(lease) is { } refusal)
        {
            context.Lifecycle.Rejected(lease, refusal);
            return null;
        }
        if (BackfillPage.Parse(new BinaryData(lease.Body), out var error) is not { } page)
        {
            LogPoisoned(message.MessageId, error!);
            context.Lifecycle.Rejected(lease, error!);
            return null;
        }
        var ids = page.Ids.Distinct(StringComparer.Ordinal).ToList();
        SourceRead read;
        try
        {
            if (await authority.RefusalAsync(page, cancellationToken).ConfigureAwait(false) is { } forbidden)
            {
                LogPoisoned(message.MessageId, forbidden);
                context.Lifecycle.Rejected(lease, forbidden);
                return null;
            }
            read = await source.ReadAsync(page.ReadFrom, page.Target, ids, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogPageFailed(message.MessageId, message.DequeueCount, ex);
            context.DependencyFailed(context.Circuits.VectorStore, lease, ex);
            return null;
        }
        if (read.Refusal is { } refused)
        {
            LogPoisoned(message.MessageId, refused);
            context.Lifecycle.Rejected(lease, refused);
            return null;
        }

        var found = read.Documents.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        var gone = ids.Where(id => !found.Contains(id)).ToList();
        var group = new JobGroup(read.Documents.Count + gone.Count);
        var work = read.Documents.Select(d => new DocumentJob(lease,
                new JobMessage(d.Id, JobOperation.Upsert, null, d.Title, d.Metadata, page.Alias, d.Images ?? [], d.Version), 0,
                new CopySource(page.Target, d.EmbeddedAt, d.Chunks, page.ReadFrom, d.Hashes, d.Vectors), group))
            .Concat(gone.Select(id => new DocumentJob(lease,
                new JobMessage(id, JobOperation.Delete, null, null, null, page.Alias, [], null), 0,
                new CopySource(page.Target, read.ReadAt, null), group)))
            .ToList();
        LogPageStarted(page.ReadFrom, page.Target, read.Documents.Count, gone.Count);
        return work;
    }

    /// <summary>A copy whose every chunk comes with the source's vector, or a delete: nothing for the endpoint.</summary>
    private static bool EmbedsNothing(DocumentJob job) =>
        job.Message.Operation == JobOperation.Delete || job.Copy is { CarriesEveryVector: true };

    public override void Dispose()
    {
        _pages.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Backfill page of {Source} → {Target}: {Documents} documents to copy, {Gone} gone from the source")]
    private partial void LogPageStarted(string source, string target, int documents, int gone);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Backfill page {MessageId} failed (delivery {DequeueCount}); it is tried again after a backoff")]
    private partial void LogPageFailed(string messageId, long dequeueCount, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Backfill page {MessageId} goes to the backfill poison queue: {Reason}")]
    private partial void LogPoisoned(string messageId, string reason);
}
