using Google.Protobuf.Collections;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// What a running backfill set out to copy, kept in its target collection's metadata so that <c>status</c> (from any
/// machine) and the command's own log can show how far it is. Qdrant keeps collection metadata from 1.16 on; an older
/// server drops it, and then only the counts are shown. A resumed run starts the record again.
/// </summary>
internal sealed record BackfillProgress(DateTimeOffset StartedAt, long Pages, long Documents, long Chunks, long Tokens)
{
    private const string StartedAtKey = "backfill_started_at";
    private const string PagesKey = "backfill_pages";
    private const string DocumentsKey = "backfill_documents";
    private const string ChunksKey = "backfill_chunks";
    private const string TokensKey = "backfill_tokens";

    public Dictionary<string, Value> ToMetadata() => new(StringComparer.Ordinal)
    {
        [StartedAtKey] = StartedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        [PagesKey] = Pages,
        [DocumentsKey] = Documents,
        [ChunksKey] = Chunks,
        [TokensKey] = Tokens,
    };

    /// <summary>The record in a collection's metadata, or null when it holds none.</summary>
    public static BackfillProgress? From(MapField<string, Value>? metadata)
    {
        if (metadata is null
            || !metadata.TryGetValue(StartedAtKey, out var started)
            || !DateTimeOffset.TryParse(started.StringValue, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var startedAt))
        {
            return null;
        }
        long Number(string key) => metadata.TryGetValue(key, out var value) ? value.IntegerValue : 0;
        return new BackfillProgress(startedAt, Number(PagesKey), Number(DocumentsKey), Number(ChunksKey), Number(TokensKey));
    }

    /// <summary>
    /// Pages done (those no longer queued), chunks copied, tokens embedded in proportion (none for a copy that takes
    /// every vector from the source), and the time left at the pace since the start. Changes recorded from live work
    /// travel on the same queue, so the figures are approximate.
    /// </summary>
    public string Describe(long queuedPages, ulong copiedChunks, DateTimeOffset now)
    {
        var done = Math.Clamp(Pages - queuedPages, 0, Pages);
        var share = Pages == 0 ? 1.0 : (double)done / Pages;
        var elapsed = now - StartedAt;
        var eta = done == 0 || queuedPages == 0 ? (queuedPages == 0 ? "done" : "unknown until a page is done") : Span(elapsed * ((double)Math.Max(0, queuedPages) / done));
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{done:N0} of {Pages:N0} pages done ({share * 100:0} %), {copiedChunks:N0} of {Chunks:N0} chunks in the target, {(Tokens > 0 ? $"~{Tokens * share:N0} of ~{Tokens:N0} tokens" : "vectors copied from the source")}, {Span(elapsed)} so far, ETA {eta}");
    }

    private static string Span(TimeSpan span) =>
        span.TotalHours >= 1 ? $"{(int)span.TotalHours} h {span.Minutes:00} min" : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes} min" : $"{Math.Max(0, (int)span.TotalSeconds)} s";
}
