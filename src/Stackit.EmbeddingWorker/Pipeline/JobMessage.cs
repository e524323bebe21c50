using System.Text.Json;

namespace Stackit.EmbeddingWorker.Pipeline;

internal enum JobOperation
{
    Upsert,
    Delete,
}

/// <summary>A validated job message (the contract upstream systems enqueue, see docs/jobs.md).</summary>
internal sealed record JobMessage(
    string Id,
    JobOperation Operation,
    string? Text,
    string? Title,
    JsonElement? Metadata,
    string Collection,
    IReadOnlyList<string> Images,
    long? Version);
