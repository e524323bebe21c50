using System.Text.Json;
using CsCheck;

namespace Stackit.EmbeddingWorker.Tests.Ordering;

/// <summary>One job of a generated history: an upsert of some paragraphs, or a delete; versioned or not.</summary>
internal sealed record HistoryJob(string DocumentId, int Seq, bool Delete, long? Version, int Paragraphs)
{
    /// <summary>Paragraph <paramref name="i"/> of this job: about 90 bytes, one chunk of at most 40 tokens, never two.</summary>
    public string Paragraph(int i) => $"Document {DocumentId} job {Seq} paragraph {i}: the pump seals are checked and logged".PadRight(90, '.');

    public IEnumerable<string> Texts => Enumerable.Range(0, Paragraphs).Select(Paragraph);

    public string Body => Delete
        ? JsonSerializer.Serialize(new { id = DocumentId, op = "delete", version = Version })
        : JsonSerializer.Serialize(new { id = DocumentId, version = Version, text = string.Join("\n\n", Texts) });

    public override string ToString() => $"{DocumentId}#{Seq}:{(Delete ? "delete" : $"upsert×{Paragraphs}")}{(Version is { } v ? $"@v{v}" : "")}";
}

/// <summary>
/// A generated history of 2–5 documents, each with 1–4 jobs (upserts growing and shrinking, deletes; a versioned
/// document's jobs carry distinct versions, an unversioned one's none), in the order they are put on the queue.
/// </summary>
internal sealed record DocumentHistory(IReadOnlyList<HistoryJob> Deliveries)
{
    private static readonly Gen<(bool Delete, int Paragraphs)> Operation = Gen.Select(Gen.Int[0, 9], Gen.Int[1, 4], (d, p) => (d < 3, p));

    /// <summary>Histories of versioned and unversioned documents.</summary>
    public static readonly Gen<DocumentHistory> Generator =
        from documents in Document(Gen.Bool).Array[2, 5]
        from order in Gen.Shuffle(documents.SelectMany((jobs, d) => jobs.Select(j => j with { DocumentId = $"d{d}" })).ToArray())
        select new DocumentHistory(order);

    private static Gen<HistoryJob[]> Document(Gen<bool> versionedness) =>
        from versioned in versionedness
        from operations in Operation.Array[1, 4]
        from versions in Gen.Shuffle(Enumerable.Range(1, 20).ToArray())
        select operations.Select((op, seq) => new HistoryJob("", seq, op.Delete, versioned ? versions[seq] : null, op.Paragraphs)).ToArray();

    /// <summary>
    /// Worker settings for racing generated histories on several processes: short leases (a killed replica's messages
    /// come back within seconds), many deliveries allowed, one paragraph a chunk, batches sent at once, quiet logs.
    /// </summary>
    public static void ForRaces(Dictionary<string, string?> settings)
    {
        settings["Queue:VisibilityTimeout"] = "00:00:03";
        settings["Queue:MaxDequeueCount"] = "50";
        settings["Queue:MaxInFlightMessages"] = "32";
        settings["Chunking:MaxChunkTokens"] = "40";
        settings["Chunking:OverlapTokens"] = "0";
        settings["Batching:MaxDelay"] = "00:00:00.050";
        settings["Logging:LogLevel:Default"] = "Warning";
    }

    /// <summary>The same history on documents of their own (each run of a history writes fresh documents).</summary>
    public DocumentHistory Named(string prefix) => new([.. Deliveries.Select(j => j with { DocumentId = prefix + j.DocumentId })]);

    public IEnumerable<IGrouping<string, HistoryJob>> Documents => Deliveries.GroupBy(j => j.DocumentId);

    public override string ToString() => string.Join(", ", Deliveries);
}
