namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// The "documents changed" event: the vector store raises it after it wrote or deleted documents, before their
/// jobs are reported stored, so a subscriber's failure makes the jobs try again. Backfill capture subscribes.
/// </summary>
internal interface IDocumentChangeObserver
{
    Task DocumentsChangedAsync(string collection, IReadOnlyCollection<string> documentIds, CancellationToken cancellationToken);
}
