using System.ComponentModel.DataAnnotations;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>The <c>Qdrant</c> section: where vectors land.</summary>
public sealed class QdrantOptions : IValidatableObject
{
    public const string SectionName = "Qdrant";

    /// <summary>gRPC endpoint (port 6334 by default).</summary>
    [Required(ErrorMessage = "Qdrant:Endpoint is required.")]
    public Uri Endpoint { get; set; } = new("http://localhost:6334");

    public string? ApiKey { get; set; }

    /// <summary>Default collection, used when a job names none.</summary>
    [Required(ErrorMessage = "Qdrant:Collection is required.")]
    [RegularExpression(CollectionRouting.NamePattern, ErrorMessage = "Qdrant:Collection may hold letters, digits, '_', '.' and '-' only.")]
    public string Collection { get; set; } = "documents";

    /// <summary>Where jobs with images go, embedded by <c>Embeddings:MultimodalModel</c>; deletes remove a document here too.</summary>
    [RegularExpression(CollectionRouting.NamePattern, ErrorMessage = "Qdrant:MultimodalCollection may hold letters, digits, '_', '.' and '-' only.")]
    public string MultimodalCollection { get; set; } = "documents_multimodal";

    /// <summary>Further collections a job may name; the default collection is always allowed.</summary>
    public List<string> AllowedCollections { get; set; } = [];

    [RegularExpression("^(Cosine|Dot|Euclid|Manhattan)$", ErrorMessage = "Qdrant:Distance must be Cosine, Dot, Euclid or Manhattan.")]
    public string Distance { get; set; } = "Cosine";

    /// <summary>Keep the chunk text in the payload (needed to re-embed without the source).</summary>
    public bool StoreText { get; set; } = true;

    /// <summary>
    /// Keep a multimodal job's images (its data URIs, as sent) in the payload field <c>images</c> of its point, so a
    /// backfill can embed the multimodal collection again. Off by default: the images then cost their size on disk
    /// (base64, about 4/3 of the image bytes; 133 GB a million points of 100 KB images).
    /// </summary>
    public bool StoreImages { get; set; }

    /// <summary>
    /// Before embedding, compare each chunk's content hash with the stored one and store unchanged chunks again
    /// with their stored vector instead of embedding them anew.
    /// </summary>
    public bool SkipUnchanged { get; set; } = true;

    /// <summary>
    /// How long a versioned delete is remembered (<c>&lt;collection&gt;_tombstones</c>): an older upsert of the
    /// document arriving within it writes nothing. Arriving later than that, it would bring the document back.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan TombstoneRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// The largest <c>metadata</c> a job may carry, in bytes of its JSON: it is copied into the payload of every one
    /// of the document's points, so it counts once per chunk in memory, in each upsert and in Qdrant's storage.
    /// </summary>
    [Range(0, 1_048_576)]
    public int MaxMetadataBytes { get; set; } = 16 * 1024;

    [Range(1, 1_024)]
    public int UpsertBatchSize { get; set; } = 128;

    [Range(1, 16)]
    public int MaxConcurrentUpserts { get; set; } = 2;

    /// <summary>Deadline of one call to Qdrant; a write that takes longer is retried (writes are idempotent).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of a call Qdrant answered with a passing error (unavailable, overloaded, deadline).</summary>
    [Range(0, 20)]
    public int MaxRetries { get; set; } = 4;

    /// <summary>First retry delay; later ones grow exponentially with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// For an <c>https://</c> endpoint whose certificate the system does not trust: a PEM (or DER) file of the CA that
    /// issued it, or of the certificate itself. The host name must still match.
    /// </summary>
    public string? CertificateFile { get; set; }

    /// <summary>For an <c>https://</c> endpoint: the SHA-256 thumbprint (hex) of its certificate, trusted whoever issued it.</summary>
    public string? CertificateThumbprint { get; set; }

    /// <summary>
    /// Collections the worker creates (live <c>_v1</c> and backfill targets) keep the original vectors on disk and
    /// search a quantized copy in RAM; a backfill creates its target with the settings of its day.
    /// </summary>
    public bool OnDiskVectors { get; set; } = true;

    /// <summary><c>Scalar</c> (int8, kept in RAM: a quarter of the vectors' size), <c>Binary</c> (a 32nd) or <c>None</c>.</summary>
    public QuantizationKind Quantization { get; set; } = QuantizationKind.Scalar;

    /// <summary>HNSW edges per node; 0 defers indexing (bulk loads).</summary>
    [Range(0, 128)]
    public int HnswM { get; set; } = 16;

    [Range(4, 4_096)]
    public int HnswEfConstruct { get; set; } = 100;

    [Range(1, 1_024)]
    public int ShardNumber { get; set; } = 1;

    [Range(1, 16)]
    public int ReplicationFactor { get; set; } = 1;

    /// <summary>Replicas that must confirm a write; at most <see cref="ReplicationFactor"/>.</summary>
    [Range(1, 16)]
    public int WriteConsistencyFactor { get; set; } = 1;

    /// <summary>Payload (texts, metadata) on disk; the indexed fields stay fast.</summary>
    public bool OnDiskPayload { get; set; } = true;

    /// <summary>
    /// Payload indexes on metadata fields (<c>metadata.&lt;field&gt;</c>): field → <c>keyword</c>, <c>integer</c>,
    /// <c>float</c>, <c>bool</c>, <c>datetime</c>, <c>text</c>, <c>uuid</c>, or <c>tenant</c> (a keyword index with
    /// <c>is_tenant</c>, for the field that separates tenants).
    /// </summary>
    public Dictionary<string, string> IndexedMetadata { get; set; } = [];

    /// <summary>
    /// Hybrid retrieval: the language of a BM25 sparse vector (<c>bm25</c>) that Qdrant computes from each chunk's text
    /// beside the dense one (then named <c>dense</c>), in collections the worker creates from now on. The language picks Qdrant's stop words and stemmer: <c>english</c>, <c>german</c>, … (see
    /// <see cref="CollectionShape.Bm25Languages"/>). Unset: dense vectors only. Collections keep the shape they were
    /// created with; a backfill moves one to the configured shape.
    /// </summary>
    public string? Bm25 { get; set; }

    /// <summary>
    /// The Qdrant version to go by when the server reports none that parses (a proxy in front of it may hide it), e.g.
    /// <c>1.16.3</c>. Unset, such a server is refused: the worker cannot tell whether it keeps the order of writes
    /// (<see cref="QdrantVersionGate"/>). A version Qdrant reports always wins over this one.
    /// </summary>
    public string? AssumeVersion { get; set; }

    /// <summary>The collections jobs may name, as Intake checks them.</summary>
    internal CollectionRouting Routing => new(Collection, AllowedCollections.ToHashSet(StringComparer.Ordinal), MultimodalCollection);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Endpoint is { IsAbsoluteUri: false } || (Endpoint is not null && Endpoint.Scheme is not ("http" or "https")))
        {
            yield return new ValidationResult("Qdrant:Endpoint must be an absolute http(s) URL of the gRPC port.");
        }
        if ((CertificateFile is { Length: > 0 } || CertificateThumbprint is { Length: > 0 }) && Endpoint is { Scheme: not "https" })
        {
            yield return new ValidationResult("Qdrant:CertificateFile and Qdrant:CertificateThumbprint need an https:// Qdrant:Endpoint.");
        }
        if (CertificateFile is { Length: > 0 } file && !File.Exists(file))
        {
            yield return new ValidationResult($"Qdrant:CertificateFile '{file}' does not exist.");
        }
        if (WriteConsistencyFactor > ReplicationFactor)
        {
            yield return new ValidationResult("Qdrant:WriteConsistencyFactor must not exceed Qdrant:ReplicationFactor.");
        }
        foreach (var (field, kind) in IndexedMetadata)
        {
            if (!CollectionLayout.IsIndexableField(field))
            {
                yield return new ValidationResult($"Qdrant:IndexedMetadata names '{field}', which is not a metadata field name (letters, digits, '_' and '-').");
            }
            if (!CollectionLayout.IndexKinds.Contains(kind))
            {
                yield return new ValidationResult($"Qdrant:IndexedMetadata:{field} is '{kind}'; it must be one of {string.Join(", ", CollectionLayout.IndexKinds)}.");
            }
        }
        if (IndexedMetadata.Values.Count(k => k == "tenant") > 1)
        {
            yield return new ValidationResult("Qdrant:IndexedMetadata may mark one field as the tenant, not several.");
        }
        if (Bm25 is { Length: > 0 } language && !CollectionShape.Bm25Languages.Contains(language))
        {
            yield return new ValidationResult($"Qdrant:Bm25 is '{language}'; it must be a language Qdrant's BM25 knows: {string.Join(", ", CollectionShape.Bm25Languages.Where(l => l.Length > 2))}.");
        }
        if (AssumeVersion is { Length: > 0 } assumed && QdrantVersionGate.Parse(assumed) is null)
        {
            yield return new ValidationResult($"Qdrant:AssumeVersion is '{assumed}'; it must be a version such as 1.16.3.");
        }
        foreach (var name in AllowedCollections.Where(n => !CollectionRouting.IsValidName(n)))
        {
            yield return new ValidationResult($"Qdrant:AllowedCollections holds '{name}', which is not a valid collection name.");
        }
    }
}

public enum QuantizationKind
{
    None,
    Scalar,
    Binary,
}
