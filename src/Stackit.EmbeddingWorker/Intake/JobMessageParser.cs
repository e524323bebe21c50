using System.Text;
using System.Text.Json;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Intake;

/// <summary>
/// Turns a queue message body into a <see cref="JobMessage"/>, or a claim-check naming the blob that holds one.
/// Accepts raw UTF-8 JSON and base64-encoded JSON (<see cref="MessageBody"/>). Every rejection says what is wrong
/// in words the sending team can act on; nothing here throws on input.
/// </summary>
internal sealed class JobMessageParser(string defaultCollection, IReadOnlySet<string> allowedCollections, string? multimodalCollection = null, int maxMetadataBytes = JobMessageParser.DefaultMaxMetadataBytes)
{
    public const int DefaultMaxMetadataBytes = 16 * 1024;
    public const int MaxMessageBytes = Messaging.DeliveryRecord.MaxMessageBytes;
    public const int MaxIdLength = 512;
    public const int MaxJsonDepth = 32;

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        MaxDepth = MaxJsonDepth,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    /// <summary>The parser for the collections the worker is configured to write (the worker's and the CLI's).</summary>
    public static JobMessageParser For(CollectionRouting routing, int maxMetadataBytes) =>
        new(routing.Default, routing.Allowed, routing.Multimodal, maxMetadataBytes);

    /// <summary>A queue message: a job, or a claim-check (<c>blobUri</c>) naming the blob that holds one.</summary>
    public JobParseResult Parse(ReadOnlyMemory<byte> body)
    {
        if (body.Length > MaxMessageBytes)
        {
            return JobParseResult.Invalid($"message is {body.Length} bytes; the queue limit is {MaxMessageBytes} (larger jobs go in a blob, see 'blobUri').");
        }
        return ParseJson(body, claimedId: null, inBlob: false);
    }

    /// <summary>
    /// The job a claim-check's blob holds (its size is bounded by the blob store): the same contract, except that
    /// it may not name another blob, and its id must be the one the queue message gave, if it gave one.
    /// </summary>
    public JobParseResult ParseClaimed(ReadOnlyMemory<byte> blob, string? claimedId) => ParseJson(blob, claimedId, inBlob: true);

    private JobParseResult ParseJson(ReadOnlyMemory<byte> body, string? claimedId, bool inBlob)
    {
        var json = MessageBody.Unwrap(body, out var unwrapError);
        if (unwrapError is not null)
        {
            return JobParseResult.Invalid(unwrapError);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException ex)
        {
            return JobParseResult.Invalid(MaxDepthReached(json.Span) > MaxJsonDepth
                ? $"message is nested too deep: its JSON depth is over {MaxJsonDepth} levels of objects and arrays."
                : $"message is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            try
            {
                var result = ParseDocument(document.RootElement, inBlob);
                if (result.Job is { } job && claimedId is not null && !string.Equals(job.Id, claimedId, StringComparison.Ordinal))
                {
                    return JobParseResult.Invalid($"the blob holds job '{Truncate(job.Id)}', but the message names '{Truncate(claimedId)}'.");
                }
                return result;
            }
            catch (InvalidOperationException ex)
            {
                // An escaped lone surrogate ("\uD800") is valid JSON but no valid string.
                return JobParseResult.Invalid($"message holds text that is not valid Unicode: {ex.Message}");
            }
        }
    }

    /// <summary>How deep the JSON goes before it ends or breaks off; tells "too deep" apart from "not JSON".</summary>
    private static int MaxDepthReached(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = json.Length + 1 });
        var max = 0;
        try
        {
            while (reader.Read())
            {
                max = Math.Max(max, reader.CurrentDepth + (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray ? 1 : 0));
            }
        }
        catch (JsonException)
        {
            // Broken further on: the depth reached so far is what counts.
        }
        return max;
    }

    private JobParseResult ParseDocument(JsonElement root, bool inBlob)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return JobParseResult.Invalid($"message must be a JSON object, not {Describe(root.ValueKind)}.");
        }
        if (FindDuplicateProperty(root) is { } duplicate)
        {
            return JobParseResult.Invalid($"property '{duplicate}' appears more than once; the job is ambiguous.");
        }

        var fields = new JobFieldReader(root);
        if (fields.OptionalString("blobUri") is { } blobUri)
        {
            var claimedId = fields.OptionalString("id");
            if (fields.Error is not null)
            {
                return JobParseResult.Invalid(fields.Error);
            }
            return inBlob
                ? JobParseResult.Invalid("a job in a blob must not name another blob ('blobUri').")
                : JobParseResult.ClaimCheck(blobUri, claimedId);
        }
        var id = fields.RequiredString("id");
        var op = fields.OptionalString("op");
        var text = fields.OptionalString("text");
        var title = fields.OptionalString("title");
        var collection = fields.OptionalString("collection");
        var metadata = fields.OptionalObject("metadata");
        var images = fields.OptionalStringArray("images");
        var version = fields.OptionalVersion("version");
        if (fields.Error is not null)
        {
            return JobParseResult.Invalid(fields.Error);
        }

        if (metadata is { } m && Encoding.UTF8.GetByteCount(m.GetRawText()) is var metadataBytes && metadataBytes > maxMetadataBytes)
        {
            return JobParseResult.Invalid($"'metadata' is {metadataBytes} bytes of JSON; at most {maxMetadataBytes} are accepted (Qdrant:MaxMetadataBytes), since it is copied into every chunk's point.");
        }
        if (string.IsNullOrWhiteSpace(id))
        {
            return JobParseResult.Invalid("'id' must not be empty or white space.");
        }
        if (Printable.FirstUnsafe(id!) is var (unsafeCharacter, unsafeAt))
        {
            return JobParseResult.Invalid($"'id' holds the control character U+{(int)unsafeCharacter:X4} at {unsafeAt}; ids must be printable (they appear in logs and commands' output).");
        }
        if (id!.Length > MaxIdLength)
        {
            return JobParseResult.Invalid($"'id' is {id.Length} characters; at most {MaxIdLength} are allowed.");
        }

        JobOperation operation;
        switch (op)
        {
            case null or "upsert":
                operation = JobOperation.Upsert;
                break;
            case "delete":
                operation = JobOperation.Delete;
                break;
            default:
                return JobParseResult.Invalid($"'op' is '{Truncate(op)}'; it must be \"upsert\" or \"delete\".");
        }

        if (images.Count > 0 && operation == JobOperation.Upsert)
        {
            // Vectors of the multimodal model live in their own collection: another model, another dimension.
            var multimodal = multimodalCollection ?? defaultCollection;
            if (collection is not null && !string.Equals(collection, multimodal, StringComparison.Ordinal))
            {
                return JobParseResult.Invalid($"a job with images is stored in Qdrant:MultimodalCollection '{multimodal}'; 'collection' must be left out or name it, not '{Truncate(collection)}'.");
            }
            collection = multimodal;
        }
        else
        {
            collection ??= defaultCollection;
            if (!string.Equals(collection, defaultCollection, StringComparison.Ordinal) && !allowedCollections.Contains(collection))
            {
                return JobParseResult.Invalid($"collection '{Truncate(collection)}' is not in Qdrant:AllowedCollections.");
            }
        }

        for (var i = 0; i < images.Count; i++)
        {
            if (ImageDataUri.Check(images[i]) is { } imageError)
            {
                return JobParseResult.Invalid($"images[{i}] {imageError}");
            }
        }

        if (operation == JobOperation.Upsert)
        {
            if (string.IsNullOrWhiteSpace(text) && images.Count == 0)
            {
                return JobParseResult.Invalid("an upsert needs non-empty 'text' or 'images'.");
            }
        }

        return JobParseResult.Valid(new JobMessage(id, operation, text, title, metadata, collection, images, version));
    }

    private static string? FindDuplicateProperty(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    if (!seen.Add(property.Name))
                    {
                        return property.Name;
                    }
                    if (FindDuplicateProperty(property.Value) is { } nested)
                    {
                        return property.Name + "." + nested;
                    }
                }
                return null;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (FindDuplicateProperty(item) is { } nested)
                    {
                        return nested;
                    }
                }
                return null;
            default:
                return null;
        }
    }

    internal static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "an object",
    };

    internal static string Truncate(string value) => Printable.Of(value.Length <= 64 ? value : value[..64] + "…");
}
