using System.Threading.Channels;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// Keeps the jobs of one document in the order this replica received them: while a job of a document is in the
/// pipeline, a later job of the same document waits here, and it enters Preparation only when the earlier one
/// has been reported (stored, rejected or failed). So a delete never overtakes an upsert received before it,
/// an older version's chunks never land after a newer version's tail delete, and two versions of a document
/// never share an upsert request. Documents are told apart by id alone, across collections, since a delete
/// removes a document from the text and the multimodal collection alike.
/// </summary>
/// <remarks>
/// Each job is stamped with the time it enters (<see cref="DocumentJob.ReceivedAt"/>), never earlier than the job
/// before it, so the stamps follow this order even when the clock steps back; an unversioned job's writes are ordered
/// by that stamp in Qdrant, which keeps two replicas' unversioned jobs of one document from mixing.
/// Waiting jobs are held as received messages, so they are bounded by <c>Queue:MaxInFlightMessages</c> and their
/// leases are renewed like any other. A released job goes to <see cref="PipelineChannels.Resumed"/>, which holds
/// one job per in-flight message, so releasing never waits.
/// </remarks>
internal sealed class DocumentSequencer(ChannelWriter<Resumption> resumed, TimeProvider? time = null)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<DocumentJob>> _busy = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private DateTimeOffset _lastStamp = DateTimeOffset.MinValue;

    /// <summary>True when <paramref name="job"/> may enter the pipeline now; otherwise it waits for its turn.</summary>
    public bool TryEnter(DocumentJob job)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            _lastStamp = now > _lastStamp ? now : _lastStamp.AddTicks(1);
            job.Received(_lastStamp);
            if (_busy.TryGetValue(job.Message.Id, out var waiting))
            {
                waiting.Enqueue(job);
                return false;
            }
            _busy[job.Message.Id] = new Queue<DocumentJob>();
            return true;
        }
    }

    /// <summary>
    /// <paramref name="job"/> is done: the next job of its document, if one waits, enters the pipeline. When the
    /// pipeline has stopped taking jobs (shutdown), the next job stays unsettled and its message is handed back.
    /// </summary>
    public void Leave(DocumentJob job)
    {
        DocumentJob? next;
        lock (_gate)
        {
            if (!_busy.TryGetValue(job.Message.Id, out var waiting))
            {
                return;
            }
            if (!waiting.TryDequeue(out next))
            {
                _busy.Remove(job.Message.Id);
                return;
            }
        }
        resumed.TryWrite(new Resumption(next));
    }
}
