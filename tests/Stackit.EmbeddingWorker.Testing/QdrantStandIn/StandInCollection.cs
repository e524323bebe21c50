using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Testing.QdrantStandIn;

/// <summary>
/// One collection: its vector parameters, its points by id, and its payload indexes. Points are also kept by
/// document id, so a filter that names its documents (every filter the worker sends does) looks only at their
/// points, as Qdrant's payload index does, instead of scanning the whole collection on every call.
/// </summary>
public sealed class StandInCollection(string name, VectorParams vectors, CollectionConfig? config = null)
{
    private readonly Dictionary<string, StoredPoint> _points = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _keysByDocument = new(StringComparer.Ordinal);

    // Every point in id order, kept from one change to the next: Qdrant scrolls in id order from its index, where sorting
    // the whole collection on every call made a plain scroll of 20,000 points spend most of its time here.
    private List<StoredPoint>? _ordered;

    public string Name { get; } = name;

    public VectorParams Vectors { get; } = vectors;

    public IReadOnlyDictionary<string, StoredPoint> Points => _points;

    public Dictionary<string, PayloadSchemaType> PayloadIndexes { get; } = new(StringComparer.Ordinal);

    /// <summary>The fields whose keyword index was made with <c>is_tenant</c>.</summary>
    public HashSet<string> TenantFields { get; } = new(StringComparer.Ordinal);

    /// <summary>The layout it was created with (shards, replication, HNSW, quantization, payload storage), as Qdrant reports it.</summary>
    public CollectionConfig Config { get; } = config ?? new CollectionConfig { Params = new CollectionParams { VectorsConfig = new VectorsConfig { Params = vectors } } };

    /// <summary>The name of its dense vector; null for the unnamed one.</summary>
    public string? DenseName => Config.Params.VectorsConfig.ConfigCase == VectorsConfig.ConfigOneofCase.ParamsMap ? Config.Params.VectorsConfig.ParamsMap.Map.Keys.Single() : null;

    /// <summary>Its sparse vectors by name, and whether each is weighted by IDF.</summary>
    public IReadOnlyDictionary<string, bool> SparseVectors =>
        Config.Params.SparseVectorsConfig?.Map.ToDictionary(kv => kv.Key, kv => kv.Value.HasModifier && kv.Value.Modifier == Modifier.Idf, StringComparer.Ordinal)
        ?? new Dictionary<string, bool>(StringComparer.Ordinal);

    /// <summary>Every HNSW <c>m</c> the collection has had, first the one it was created with.</summary>
    public List<ulong> HnswMHistory { get; } = [];

    /// <summary>What info requests report instead of green or yellow, when a test sets it (<see cref="StandInStore.ReportStatus"/>).</summary>
    public CollectionStatus? StatusOverride { get; set; }

    /// <summary>Info requests still to answer yellow (optimizing) after the index settings changed.</summary>
    public int IndexingReports { get; set; }

    /// <summary>Whether this info request finds the index still being built; counts it down.</summary>
    public bool ReportIndexing()
    {
        lock (HnswMHistory)
        {
            if (IndexingReports == 0)
            {
                return false;
            }
            IndexingReports--;
            return true;
        }
    }

    /// <summary>Stores the point, replacing the one with its id (payload and all, as an upsert does).</summary>
    public void Put(StoredPoint point)
    {
        Remove(point.Key);
        _ordered = null;
        _points[point.Key] = point;
        if (DocumentOf(point) is { } document)
        {
            if (!_keysByDocument.TryGetValue(document, out var keys))
            {
                _keysByDocument[document] = keys = new HashSet<string>(StringComparer.Ordinal);
            }
            keys.Add(point.Key);
        }
    }

    public bool Remove(string key)
    {
        if (!_points.Remove(key, out var removed))
        {
            return false;
        }
        _ordered = null;
        if (DocumentOf(removed) is { } document && _keysByDocument.TryGetValue(document, out var keys))
        {
            keys.Remove(key);
            if (keys.Count == 0)
            {
                _keysByDocument.Remove(document);
            }
        }
        return true;
    }

    /// <summary>The points that match <paramref name="filter"/> (all of them without one).</summary>
    public IEnumerable<StoredPoint> Matching(Filter? filter)
    {
        if (filter is null)
        {
            return _points.Values;
        }
        var candidates = FilterEvaluator.DocumentsRequired(filter) is { } documents
            ? documents.SelectMany(d => _keysByDocument.GetValueOrDefault(d) ?? []).Select(k => _points[k])
            : _points.Values;
        return candidates.Where(p => FilterEvaluator.Matches(filter, p));
    }

    /// <summary>
    /// One scroll page: up to <paramref name="count"/> matching points in id order from the first id at or after
    /// <paramref name="from"/> (Qdrant's offset need not be a stored point). Without a filter that names its documents
    /// the walk starts at the offset and stops when the page is full, as Qdrant's id index does, so scrolling a whole
    /// collection costs its size, not its size for every page.
    /// </summary>
    public List<StoredPoint> Page(Filter? filter, string? from, int count)
    {
        if (NamesDocuments(filter))
        {
            var named = NamedInIdOrder(filter!);
            var first = from is null ? 0 : LowerBound(named, from);
            return named.GetRange(first, Math.Min(count, named.Count - first));
        }
        var ordered = Ordered;
        var page = new List<StoredPoint>(Math.Min(count, ordered.Count));
        for (var i = from is null ? 0 : LowerBound(ordered, from); i < ordered.Count && page.Count < count; i++)
        {
            if (filter is null || FilterEvaluator.Matches(filter, ordered[i]))
            {
                page.Add(ordered[i]);
            }
        }
        return page;
    }

    /// <summary>The index of the first point whose id is at or after <paramref name="key"/> in a list in id order.</summary>
    private static int LowerBound(List<StoredPoint> ordered, string key)
    {
        int low = 0, high = ordered.Count;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (string.CompareOrdinal(ordered[middle].Key, key) < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }
        return low;
    }

    /// <summary>As <see cref="Matching"/>, in id order (the order Qdrant scrolls in).</summary>
    public List<StoredPoint> InIdOrder(Filter? filter)
    {
        if (NamesDocuments(filter))
        {
            return NamedInIdOrder(filter!);
        }
        return filter is null ? [.. Ordered] : Ordered.FindAll(p => FilterEvaluator.Matches(filter, p));
    }

    /// <summary>Every point in id order, sorted again only after a change.</summary>
    private List<StoredPoint> Ordered => _ordered ??= [.. _points.Values.OrderBy(p => p.Key, StringComparer.Ordinal)];

    /// <summary>Whether the filter names its documents, so that only their points are looked at.</summary>
    private static bool NamesDocuments(Filter? filter) => filter is not null && FilterEvaluator.DocumentsRequired(filter) is not null;

    private List<StoredPoint> NamedInIdOrder(Filter filter) => [.. Matching(filter).OrderBy(p => p.Key, StringComparer.Ordinal)];

    private static string? DocumentOf(StoredPoint point) =>
        point.Payload.TryGetValue(PayloadFields.DocumentId, out var value) && value.KindCase == Value.KindOneofCase.StringValue ? value.StringValue : null;
}

/// <summary>A stored point: its dense vector (named <paramref name="VectorName"/>, or unnamed), payload, and the terms of its sparse vectors by name.</summary>
public sealed record StoredPoint(PointId Id, float[] Vector, IReadOnlyDictionary<string, Value> Payload, string? VectorName = null, IReadOnlyDictionary<string, Dictionary<string, float>>? SparseVectors = null)
{
    private static readonly Dictionary<string, Dictionary<string, float>> None = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, Dictionary<string, float>> Sparse => SparseVectors ?? None;

    public string Key => Id.HasUuid ? Id.Uuid : Id.Num.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
