using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// Jobs that came from one queue message (the documents of a backfill page): the message is settled once, when the
/// last of them is reported — stored when all were, rejected when one was (with its reason), else failed when one
/// failed on its own, else unavailable.
/// </summary>
internal sealed class JobGroup(int count)
{
    private readonly Lock _gate = new();
    private int _remaining = count;
    private OutcomeKind _kind = OutcomeKind.Stored;
    private string? _reason;

    /// <summary>Records one job's outcome; the group's outcome when it was the last, else null.</summary>
    public (OutcomeKind Kind, string? Reason)? Report(string documentId, OutcomeKind kind, string? reason)
    {
        lock (_gate)
        {
            // The page is as bad as its worst document: rejected over failed over unavailable over stored.
            if (Rank(kind) > Rank(_kind))
            {
                _kind = kind;
                _reason = $"document '{documentId}': {reason}";
            }
            if (--_remaining > 0)
            {
                return null;
            }
        }
        return (_kind, _reason);
    }

    private static int Rank(OutcomeKind kind) => kind switch
    {
        OutcomeKind.Stored => 0,
        OutcomeKind.Unavailable => 1,
        OutcomeKind.Failed => 2,
        _ => 3,
    };
}
