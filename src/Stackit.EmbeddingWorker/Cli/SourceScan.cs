using System.Text;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>What a backfill of a source collection would re-embed: its documents, chunks, stored text and tokens.</summary>
internal sealed record SourceFigures(long Documents, long Chunks, long Bytes, long Tokens, long WithoutText);

/// <summary>
/// Reads every chunk of a backfill's source once, page by page, without vectors: counts what <c>backfill --plan</c>
/// shows and the backfill records as its progress, and hands each document's id (from its first chunk) on, so the
/// backfill enqueues in the same pass. Chunks without stored text count no tokens: the backfill cannot embed them.
/// Without <c>countTokens</c> (a copy that takes every vector from the source) only ids and indexes are read, not the
/// texts: nothing is counted but documents and chunks.
/// </summary>
internal static class SourceScan
{
    /// <summary>Points a page of texts holds: 256 chunks of a few KB each.</summary>
    private const uint TextPage = 256;

    /// <summary>
    /// Points a page of ids holds: each is a document id and an index (well under 100 bytes), so 4,096 of them are one
    /// small answer, and the scan of a copy costs the source a few dozen calls per 100,000 chunks, not 400, while
    /// replicas copy from it.
    /// </summary>
    private const uint IdPage = 4096;

    private static readonly WithPayloadSelector IdFields = new()
    {
        Include = new PayloadIncludeSelector { Fields = { PayloadFields.DocumentId, PayloadFields.ChunkIndex } },
    };

    public static async Task<SourceFigures> ReadAsync(QdrantClient client, string source, Func<string, long>? countTokens, Func<string, Task>? onDocument, CancellationToken cancellationToken)
    {
        long documents = 0, chunks = 0, bytes = 0, tokens = 0, withoutText = 0;
        await foreach (var point in QdrantScroll.AllAsync(client, source, new Filter(), countTokens is null ? IdFields : QdrantSearch.ChunkFields, countTokens is null ? IdPage : TextPage, cancellationToken).ConfigureAwait(false))
        {
            chunks++;
            if (point.Payload.TryGetValue(PayloadFields.ChunkIndex, out var index) && index.IntegerValue == 0)
            {
                documents++;
                if (onDocument is not null && point.Payload.TryGetValue(PayloadFields.DocumentId, out var id))
                {
                    await onDocument(id.StringValue).ConfigureAwait(false);
                }
            }
            if (countTokens is null)
            {
                continue;
            }
            if (!point.Payload.TryGetValue(PayloadFields.Text, out var text) || text.StringValue.Length == 0)
            {
                withoutText++;
                continue;
            }
            bytes += Encoding.UTF8.GetByteCount(text.StringValue);
            tokens += countTokens(text.StringValue);
        }
        return new SourceFigures(documents, chunks, bytes, tokens, withoutText);
    }
}
