using Grpc.Core;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.Testing.QdrantStandIn;

/// <summary>
/// The state of the stand-in and the checks Qdrant makes on writes: the collection must exist, a point id
/// must be an unsigned integer or a UUID, and the vector must have the collection's dimension. Errors use the
/// status codes and wording Qdrant uses. Everything else a test may want to assert is recorded.
/// </summary>
public sealed class StandInStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, StandInCollection> _collections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);
    private readonly Queue<StatusCode> _upsertFaults = new();
    private readonly Queue<StatusCode> _getFaults = new();
    private int? _aliasFaultAt;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);

    public int UpsertCalls { get; private set; }

    /// <summary>Calls by method and kind of collection (<c>Get/points</c>, <c>Upsert/tombstones</c>, …): what a run cost.</summary>
    public IReadOnlyDictionary<string, int> Calls => _calls;

    /// <summary>Counts one call of <paramref name="method"/> on <paramref name="collection"/>.</summary>
    public void Called(string method, string collection) =>
        _calls.AddOrUpdate($"{method}/{(collection.EndsWith("_tombstones", StringComparison.Ordinal) ? "tombstones" : "points")}", 1, (_, n) => n + 1);

    public int MaxUpsertBatch { get; private set; }

    public bool EveryWriteWaited { get; private set; } = true;

    /// <summary>Points written over an existing id: a re-delivered job does this, by design.</summary>
    public int Overwrites { get; private set; }

    /// <summary>Existing points an upsert left alone because they did not match its update_filter.</summary>
    public int KeptByUpdateFilter { get; private set; }

    /// <summary>
    /// The version the health call reports, and the release the stand-in behaves as (<see cref="Release"/>); the pinned
    /// release unless a test sets another. An empty or unparseable one (a proxy that hides it) behaves as the pinned release.
    /// </summary>
    public string Version { get; set; } = StandInRelease.Pinned.ToString();

    /// <summary>The release the stand-in behaves as, from <see cref="Version"/>.</summary>
    public StandInRelease Release => StandInRelease.Of(Version);

    /// <summary>A status a collection reports instead of green/yellow (Grey: optimizations pending; Red: an optimizer failed).</summary>
    public void ReportStatus(string collection, CollectionStatus? status)
    {
        lock (_gate)
        {
            Collection(collection).StatusOverride = status;
        }
    }

    /// <summary>
    /// The alias update after the next one fails at its action number <paramref name="action"/> (0-based) with Internal,
    /// the actions before it applied: Qdrant applies an alias update step by step, without rollback.
    /// </summary>
    public void FailNextAliasUpdateAt(int action)
    {
        lock (_gate)
        {
            _aliasFaultAt = action;
        }
    }

    /// <summary>While true, every write fails with Unavailable, as when Qdrant is down.</summary>
    public bool Down { get; set; }

    /// <summary>
    /// False keeps points without their vectors (they are still checked): for the benchmark, where millions of
    /// floats a second would otherwise pile up in its process and take the machine's CPU from the worker it measures.
    /// Retrieved points then carry no vector.
    /// </summary>
    public bool KeepVectors { get; set; } = true;

    public void FailNextUpserts(int count, StatusCode status)
    {
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                _upsertFaults.Enqueue(status);
            }
        }
    }

    /// <summary>The next <paramref name="count"/> retrieves by id fail with <paramref name="status"/>.</summary>
    public void FailNextGets(int count, StatusCode status)
    {
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                _getFaults.Enqueue(status);
            }
        }
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task> _infoHolds = new(StringComparer.Ordinal);

    /// <summary>
    /// The next answer to a collection-info request for <paramref name="collection"/> is read when asked for and sent only
    /// once <paramref name="release"/> completes: a slow reply that arrives after the collection changed.
    /// </summary>
    public void HoldNextInfoOf(string collection, Task release) => _infoHolds[collection] = release;

    /// <summary>What the next collection-info answer for <paramref name="collection"/> waits for (taken once), else a completed task.</summary>
    internal Task InfoHoldOf(string collection) => _infoHolds.TryRemove(collection, out var hold) ? hold : Task.CompletedTask;

    /// <summary>
    /// Every delete of points waits, before it is applied, until <paramref name="release"/> completes: a Qdrant slow to
    /// answer the deletes that finish a writer's jobs.
    /// </summary>
    public void HoldDeletes(Task release) => DeleteHold = release;

    /// <summary>What a delete of points waits for before it is applied (<see cref="HoldDeletes"/>).</summary>
    internal Task DeleteHold { get; private set; } = Task.CompletedTask;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task> _scrollHolds = new(StringComparer.Ordinal);

    /// <summary>The next scroll of <paramref name="collection"/> is answered only once <paramref name="release"/> completes: a slow read.</summary>
    public void HoldNextScrollOf(string collection, Task release) => _scrollHolds[collection] = release;

    /// <summary>What the next scroll of <paramref name="collection"/> waits for (taken once), else a completed task.</summary>
    internal Task ScrollHoldOf(string collection) => _scrollHolds.TryRemove(collection, out var hold) ? hold : Task.CompletedTask;

    /// <summary>Throws the next scripted fault of a retrieve by id, if one is left.</summary>
    internal void ThrowIfGetFails()
    {
        lock (_gate)
        {
            if (_getFaults.TryDequeue(out var fault))
            {
                throw new RpcException(new Status(fault, "injected fault"));
            }
        }
    }

    public bool Exists(string collection)
    {
        lock (_gate)
        {
            // As Qdrant's CollectionExists does: it resolves an alias like every collection read.
            return Resolve(collection) is not null;
        }
    }

    public void Create(CreateCollection request)
    {
        var dense = request.VectorsConfig?.ConfigCase switch
        {
            VectorsConfig.ConfigOneofCase.Params => request.VectorsConfig.Params,
            VectorsConfig.ConfigOneofCase.ParamsMap when request.VectorsConfig.ParamsMap.Map.Count == 1 => request.VectorsConfig.ParamsMap.Map.Values.Single(),
            _ => throw new RpcException(new Status(StatusCode.Unimplemented, "the Qdrant stand-in supports one dense vector per point (unnamed or named), with any sparse vectors beside it")),
        };
        if (request.SparseVectorsConfig?.Map.Keys.Any(request.VectorsConfig.ParamsMap is { } named ? named.Map.ContainsKey : _ => false) == true)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Wrong input: a vector name is used for both a dense and a sparse vector"));
        }
        if (dense.Size == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Wrong input: Validation error in JSON body: [vectors.size: value 0 invalid, must be 1 or larger]"));
        }
        // Qdrant's validation of the layout (collections.proto: shard_number, replication_factor and
        // write_consistency_factor at least 1; HNSW ef_construct at least 4).
        foreach (var (field, value) in new[] { ("shard_number", request.HasShardNumber ? request.ShardNumber : 1u), ("replication_factor", request.HasReplicationFactor ? request.ReplicationFactor : 1u), ("write_consistency_factor", request.HasWriteConsistencyFactor ? request.WriteConsistencyFactor : 1u) })
        {
            if (value == 0)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"Wrong input: Validation error in JSON body: [{field}: value 0 invalid, must be 1 or larger]"));
            }
        }
        if (request.HnswConfig is { HasEfConstruct: true, EfConstruct: < 4 })
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Wrong input: Validation error in JSON body: [hnsw_config.ef_construct: value invalid, must be 4 or larger]"));
        }
        lock (_gate)
        {
            if (_collections.ContainsKey(request.CollectionName))
            {
                throw new RpcException(new Status(StatusCode.AlreadyExists, $"Wrong input: Collection `{request.CollectionName}` already exists!"));
            }
            if (_aliases.ContainsKey(request.CollectionName))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"Wrong input: Can't create collection with name {request.CollectionName}. Alias with the same name already exists"));
            }
            var created = new StandInCollection(request.CollectionName, dense.Clone(), ConfigOf(request, Release));
            created.HnswMHistory.Add(created.Config.HnswConfig.M);
            _collections[request.CollectionName] = created;
        }
    }

    /// <summary>Info requests that find a collection yellow after its index settings change, as Qdrant's optimizers take a while.</summary>
    public int IndexingReportsAfterUpdate { get; set; } = 2;

    /// <summary>
    /// Changes a collection's HNSW settings (other changes than those, metadata and an empty optimizer config
    /// are not implemented); the collection then reports yellow for <see cref="IndexingReportsAfterUpdate"/> info requests.
    /// </summary>
    public void Update(UpdateCollection request)
    {
        if (request.Params is not null || request.VectorsConfig is not null || request.QuantizationConfig is not null || request.SparseVectorsConfig is not null)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "the Qdrant stand-in updates HNSW settings, strict mode and metadata only"));
        }
        if (request.HnswConfig is { HasEfConstruct: true, EfConstruct: < 4 })
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Wrong input: Validation error in JSON body: [hnsw_config.ef_construct: value invalid, must be 4 or larger]"));
        }
        lock (_gate)
        {
            var collection = Collection(request.CollectionName);
            if (request.HnswConfig is { } hnsw)
            {
                collection.Config.HnswConfig.MergeFrom(hnsw);
                collection.HnswMHistory.Add(collection.Config.HnswConfig.M);
                collection.IndexingReports = IndexingReportsAfterUpdate;
            }
            if (request.StrictModeConfig is { } strict)
            {
                collection.Config.StrictModeConfig ??= new StrictModeConfig();
                collection.Config.StrictModeConfig.MergeFrom(strict);
            }
            // Metadata keys are merged into the collection's, as Qdrant does; a server before 1.15.4 drops them unread.
            foreach (var (key, value) in Release.KnowsUpdateFilterAndMetadata ? request.Metadata : [])
            {
                collection.Config.Metadata[key] = value.Clone();
            }
        }
    }

    /// <summary>
    /// Deletes a collection and the aliases that point to it, as Qdrant does (an alias name deletes nothing); false when
    /// there was none.
    /// </summary>
    public bool DeleteCollection(string name)
    {
        lock (_gate)
        {
            if (!_collections.Remove(name))
            {
                return false;
            }
            foreach (var alias in _aliases.Where(a => a.Value == name).Select(a => a.Key).ToList())
            {
                _aliases.Remove(alias);
            }
            return true;
        }
    }

    /// <summary>A collection by its name or by an alias of it, as every points request may name it.</summary>
    public StandInCollection Collection(string name)
    {
        lock (_gate)
        {
            return Resolve(name)
                ?? throw new RpcException(new Status(StatusCode.NotFound, $"Not found: Collection `{name}` doesn't exist!"));
        }
    }

    /// <summary>The collection of this name, or the one the alias of this name points to; null when neither exists. The caller holds the gate.</summary>
    private StandInCollection? Resolve(string name) => _collections.GetValueOrDefault(_aliases.GetValueOrDefault(name, name));

    /// <summary>A copy of the points of a collection, for assertions.</summary>
    public IReadOnlyList<StoredPoint> Points(string collection)
    {
        lock (_gate)
        {
            return Resolve(collection)?.Points.Values.ToList() ?? [];
        }
    }

    /// <summary>
    /// How many points a collection (or the one an alias names) holds, 0 when there is none: for polling progress, which
    /// must not copy the points (the benchmark polls a collection of 100,000 points ten times a second while it measures).
    /// </summary>
    public int PointCount(string collection)
    {
        lock (_gate)
        {
            return Resolve(collection)?.Points.Count ?? 0;
        }
    }

    /// <summary>The collections (not their aliases), by name.</summary>
    public IReadOnlyList<string> CollectionNames
    {
        get
        {
            lock (_gate)
            {
                return _collections.Keys.Order(StringComparer.Ordinal).ToList();
            }
        }
    }

    /// <summary>The aliases and the collections they point to.</summary>
    public IReadOnlyDictionary<string, string> Aliases
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<string, string>(_aliases, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>
    /// Applies alias actions as Qdrant does (toc/collection_meta_ops.rs <c>update_aliases</c>): one by one, each kept even
    /// when a later one fails. Creating an alias that exists points it to the new collection; deleting one that does not
    /// exist succeeds; an alias may not take a collection's name, nor point to a collection that does not exist.
    /// </summary>
    public void ChangeAliases(ChangeAliases request)
    {
        lock (_gate)
        {
            var failAt = _aliasFaultAt;
            _aliasFaultAt = null;
            for (var step = 0; step < request.Actions.Count; step++)
            {
                if (step == failAt)
                {
                    throw new RpcException(new Status(StatusCode.Internal, $"Service internal error: injected fault at alias action {step}"));
                }
                var action = request.Actions[step];
                switch (action.ActionCase)
                {
                    case AliasOperations.ActionOneofCase.CreateAlias:
                        var create = action.CreateAlias;
                        if (!_collections.ContainsKey(create.CollectionName))
                        {
                            throw new RpcException(new Status(StatusCode.NotFound, $"Not found: Collection `{create.CollectionName}` doesn't exist!"));
                        }
                        if (_collections.ContainsKey(create.AliasName))
                        {
                            throw new RpcException(new Status(StatusCode.AlreadyExists, $"Wrong input: Collection `{create.AliasName}` already exists!"));
                        }
                        _aliases[create.AliasName] = create.CollectionName;
                        break;
                    case AliasOperations.ActionOneofCase.DeleteAlias:
                        _aliases.Remove(action.DeleteAlias.AliasName);
                        break;
                    default:
                        throw new RpcException(new Status(StatusCode.Unimplemented, $"the Qdrant stand-in does not implement alias action {action.ActionCase}"));
                }
            }
        }
    }

    public void Upsert(UpsertPoints request)
    {
        lock (_gate)
        {
            UpsertCalls++;
            MaxUpsertBatch = Math.Max(MaxUpsertBatch, request.Points.Count);
            EveryWriteWaited &= request.HasWait && request.Wait;
            if (Down)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, "Qdrant is down"));
            }
            if (_upsertFaults.TryDequeue(out var fault))
            {
                throw new RpcException(new Status(fault, "injected fault"));
            }
            var collection = Collection(request.CollectionName);
            var validated = new List<StoredPoint>(request.Points.Count);
            foreach (var point in request.Points)
            {
                _ = IdKey(point.Id); // the id must be a number or a UUID, as Qdrant checks
                validated.Add(StandInVectors.Validate(collection, point, KeepVectors, Release));
            }
            // As Qdrant does: the update_filter is judged once, against the state before the request, and of
            // several points with one id the last is written (retain_conditional_upsert_points, upsert_points_impl).
            var before = validated.Select(p => p.Key).Distinct().ToDictionary(k => k, k => collection.Points.GetValueOrDefault(k));
            // With an update_filter, Qdrant replaces only the existing points that match it; new ids are inserted.
            // A server before 1.15.4 does not know update_filter and replaces every point.
            var guard = Release.KnowsUpdateFilterAndMetadata ? request.UpdateFilter : null;
            var retained = validated.Where(p => before[p.Key] is not { } existing || guard is null || FilterEvaluator.Matches(guard, existing)).ToList();
            KeptByUpdateFilter += validated.Count - retained.Count;
            foreach (var point in retained.GroupBy(p => p.Key).Select(g => g.Last()))
            {
                if (before[point.Key] is not null)
                {
                    Overwrites++;
                }
                collection.Put(point);
            }
        }
    }

    public int Delete(DeletePoints request)
    {
        lock (_gate)
        {
            EveryWriteWaited &= request.HasWait && request.Wait;
            var collection = Collection(request.CollectionName);
            var doomed = request.Points.PointsSelectorOneOfCase switch
            {
                PointsSelector.PointsSelectorOneOfOneofCase.Filter => collection.Matching(StandInStrictMode.CheckUpdate(collection, request.Points.Filter)).ToList(),
                PointsSelector.PointsSelectorOneOfOneofCase.Points => request.Points.Points.Ids.Select(id => collection.Points.GetValueOrDefault(IdKey(id))).OfType<StoredPoint>().DistinctBy(p => p.Key).ToList(),
                _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "Wrong input: points selector is empty")),
            };
            foreach (var point in doomed)
            {
                collection.Remove(point.Key);
            }
            return doomed.Count;
        }
    }

    public void CreateIndex(CreateFieldIndexCollection request)
    {
        lock (_gate)
        {
            var collection = Collection(request.CollectionName);
            var type = request.FieldType switch
            {
                FieldType.Keyword => PayloadSchemaType.Keyword,
                FieldType.Integer => PayloadSchemaType.Integer,
                FieldType.Float => PayloadSchemaType.Float,
                FieldType.Bool => PayloadSchemaType.Bool,
                FieldType.Datetime => PayloadSchemaType.Datetime,
                FieldType.Text => PayloadSchemaType.Text,
                FieldType.Uuid => PayloadSchemaType.Uuid,
                _ => throw new RpcException(new Status(StatusCode.Unimplemented, $"stand-in does not index {request.FieldType}")),
            };
            // Index parameters must be those of the field's type, as Qdrant checks.
            if (request.FieldIndexParams is { } indexParams && indexParams.IndexParamsCase != PayloadIndexParams.IndexParamsOneofCase.None)
            {
                var matches = (indexParams.IndexParamsCase, type) switch
                {
                    (PayloadIndexParams.IndexParamsOneofCase.KeywordIndexParams, PayloadSchemaType.Keyword) => true,
                    (PayloadIndexParams.IndexParamsOneofCase.IntegerIndexParams, PayloadSchemaType.Integer) => true,
                    (PayloadIndexParams.IndexParamsOneofCase.TextIndexParams, PayloadSchemaType.Text) => true,
                    (PayloadIndexParams.IndexParamsOneofCase.UuidIndexParams, PayloadSchemaType.Uuid) => true,
                    (PayloadIndexParams.IndexParamsOneofCase.FloatIndexParams, PayloadSchemaType.Float) => true,
                    (PayloadIndexParams.IndexParamsOneofCase.BoolIndexParams, PayloadSchemaType.Bool) => true,
                    (PayloadIndexParams.IndexParamsOneofCase.DatetimeIndexParams, PayloadSchemaType.Datetime) => true,
                    _ => false,
                };
                if (!matches)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"Wrong input: index params {indexParams.IndexParamsCase} do not fit a {type} index"));
                }
                if (indexParams.KeywordIndexParams is { IsTenant: true })
                {
                    collection.TenantFields.Add(request.FieldName);
                }
            }
            collection.PayloadIndexes[request.FieldName] = type;
        }
    }

    /// <summary>What Qdrant reports of a collection's layout: its create request's settings (defaults where unset).</summary>
    private static CollectionConfig ConfigOf(CreateCollection request, StandInRelease release) => new()
    {
        Params = new CollectionParams
        {
            VectorsConfig = request.VectorsConfig.Clone(),
            SparseVectorsConfig = request.SparseVectorsConfig?.Clone(),
            ShardNumber = request.HasShardNumber ? request.ShardNumber : 1,
            ReplicationFactor = request.HasReplicationFactor ? request.ReplicationFactor : 1,
            WriteConsistencyFactor = request.HasWriteConsistencyFactor ? request.WriteConsistencyFactor : 1,
#pragma warning disable CS0612 // the flag the worker sends (see CollectionLayout)
            OnDiskPayload = request.HasOnDiskPayload && request.OnDiskPayload,
#pragma warning restore CS0612
        },
        HnswConfig = request.HnswConfig?.Clone() ?? new HnswConfigDiff { M = 16, EfConstruct = 100 },
        QuantizationConfig = request.QuantizationConfig?.Clone(),
        StrictModeConfig = request.StrictModeConfig?.Clone(),
        Metadata = { release.KnowsUpdateFilterAndMetadata ? request.Metadata : [] },
    };

    public List<StoredPoint> Matching(string collectionName, Filter? filter)
    {
        lock (_gate)
        {
            var collection = Collection(collectionName);
            return collection.InIdOrder(StandInStrictMode.CheckRetrieve(collection, filter));
        }
    }

    /// <summary>One scroll page (<see cref="StandInCollection.Page"/>).</summary>
    public List<StoredPoint> Page(string collectionName, Filter? filter, string? from, int count)
    {
        lock (_gate)
        {
            var collection = Collection(collectionName);
            return collection.Page(StandInStrictMode.CheckRetrieve(collection, filter), from, count);
        }
    }

    /// <summary>The points with these ids, in the order asked; ids that are not stored are left out, as Qdrant does.</summary>
    public List<StoredPoint> Retrieve(string collectionName, IEnumerable<PointId> ids)
    {
        lock (_gate)
        {
            var collection = Collection(collectionName);
            return ids.Select(IdKey).Select(key => collection.Points.GetValueOrDefault(key)).OfType<StoredPoint>().ToList();
        }
    }

    /// <summary>Qdrant's Query API as the worker and the helper commands use it (<see cref="StandInQuery"/>).</summary>
    public List<ScoredPoint> Query(QueryPoints request, Random random)
    {
        lock (_gate)
        {
            if (!KeepVectors)
            {
                throw new RpcException(new Status(StatusCode.Unimplemented, "this stand-in keeps no vectors (KeepVectors is off), so it cannot search"));
            }
            return StandInQuery.Run(Collection(request.CollectionName), request, random, Release);
        }
    }

    private static string IdKey(PointId id)
    {
        switch (id.PointIdOptionsCase)
        {
            case PointId.PointIdOptionsOneofCase.Num:
                return id.Num.ToString(System.Globalization.CultureInfo.InvariantCulture);
            case PointId.PointIdOptionsOneofCase.Uuid when Guid.TryParse(id.Uuid, out var uuid):
                return uuid.ToString();
            default:
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"Unable to parse UUID: {id.Uuid}"));
        }
    }
}
