using Grpc.Core;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.Testing.QdrantStandIn;

/// <summary>
/// <c>qdrant.Points</c>: the methods the worker and the tests call. Grpc.AspNetCore binds each descriptor
/// to the public method of the same name on this class.
/// </summary>
[BindServiceMethod(typeof(PointsStandInService), nameof(BindService))]
// Not sealed: grpc-dotnet binds descriptors only to virtual methods, as it does for generated service bases.
internal class PointsStandInService(StandInStore store)
{
    private const string Service = "qdrant.Points";

    public static void BindService(ServiceBinderBase binder, PointsStandInService? service)
    {
        binder.AddMethod(GrpcMethods.Unary<UpsertPoints, PointsOperationResponse>(Service, nameof(Upsert)), (UnaryServerMethod<UpsertPoints, PointsOperationResponse>)null!);
        binder.AddMethod(GrpcMethods.Unary<DeletePoints, PointsOperationResponse>(Service, nameof(Delete)), (UnaryServerMethod<DeletePoints, PointsOperationResponse>)null!);
        binder.AddMethod(GrpcMethods.Unary<CreateFieldIndexCollection, PointsOperationResponse>(Service, nameof(CreateFieldIndex)), (UnaryServerMethod<CreateFieldIndexCollection, PointsOperationResponse>)null!);
        binder.AddMethod(GrpcMethods.Unary<ScrollPoints, ScrollResponse>(Service, nameof(Scroll)), (UnaryServerMethod<ScrollPoints, ScrollResponse>)null!);
        binder.AddMethod(GrpcMethods.Unary<CountPoints, CountResponse>(Service, nameof(Count)), (UnaryServerMethod<CountPoints, CountResponse>)null!);
        binder.AddMethod(GrpcMethods.Unary<GetPoints, GetResponse>(Service, nameof(Get)), (UnaryServerMethod<GetPoints, GetResponse>)null!);
        binder.AddMethod(GrpcMethods.Unary<QueryPoints, QueryResponse>(Service, nameof(Query)), (UnaryServerMethod<QueryPoints, QueryResponse>)null!);
    }

    public virtual Task<PointsOperationResponse> Upsert(UpsertPoints request, ServerCallContext context)
    {
        store.Called(nameof(Upsert), request.CollectionName);
        store.Upsert(request);
        return Task.FromResult(Completed());
    }

    public virtual async Task<PointsOperationResponse> Delete(DeletePoints request, ServerCallContext context)
    {
        store.Called(nameof(Delete), request.CollectionName);
        await store.DeleteHold.WaitAsync(context.CancellationToken).ConfigureAwait(false);
        store.Delete(request);
        return Completed();
    }

    public virtual Task<PointsOperationResponse> CreateFieldIndex(CreateFieldIndexCollection request, ServerCallContext context)
    {
        store.CreateIndex(request);
        return Task.FromResult(Completed());
    }

    public virtual async Task<ScrollResponse> Scroll(ScrollPoints request, ServerCallContext context)
    {
        store.Called(nameof(Scroll), request.CollectionName);
        await store.ScrollHoldOf(request.CollectionName).WaitAsync(context.CancellationToken).ConfigureAwait(false);
        var from = request.Offset is { } offset ? offset.HasUuid ? offset.Uuid : offset.Num.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        var limit = request.HasLimit ? (int)request.Limit : 10;
        // One more than asked: its id is the next page's offset.
        var page = store.Page(request.CollectionName, request.Filter, from, limit + 1);
        var response = new ScrollResponse();
        response.Result.AddRange(page.Take(limit).Select(p => Retrieved(p, request.WithPayload, request.WithVectors)));
        if (page.Count > limit)
        {
            response.NextPageOffset = page[limit].Id;
        }
        return response;
    }

    public virtual Task<CountResponse> Count(CountPoints request, ServerCallContext context)
    {
        store.Called(nameof(Count), request.CollectionName);
        return Task.FromResult(new CountResponse { Result = new CountResult { Count = (ulong)store.Matching(request.CollectionName, request.Filter).Count } });
    }

    public virtual Task<GetResponse> Get(GetPoints request, ServerCallContext context)
    {
        store.Called(nameof(Get), request.CollectionName);
        if (request.WithVectors is { } vectors && (vectors.SelectorOptionsCase == WithVectorsSelector.SelectorOptionsOneofCase.Include || vectors.Enable))
        {
            store.Called("Get+vectors", request.CollectionName); // a second read of stored vectors, told apart from the retrieves of payloads
        }
        store.ThrowIfGetFails();
        var response = new GetResponse();
        response.Result.AddRange(store.Retrieve(request.CollectionName, request.Ids).Select(p => Retrieved(p, request.WithPayload, request.WithVectors)));
        return Task.FromResult(response);
    }

    public virtual Task<QueryResponse> Query(QueryPoints request, ServerCallContext context)
    {
        store.Called(nameof(Query), request.CollectionName);
        var response = new QueryResponse();
        response.Result.AddRange(store.Query(request, Random.Shared));
        return Task.FromResult(response);
    }

    /// <summary>A stored point as Qdrant returns it: payload as selected (all of it by default on scroll), vector when asked.</summary>
    private RetrievedPoint Retrieved(StoredPoint point, WithPayloadSelector? withPayload, WithVectorsSelector? withVectors)
    {
        var retrieved = new RetrievedPoint { Id = point.Id };
        Select(point, withPayload, byDefault: true, retrieved.Payload);
        if (withVectors?.Enable == true)
        {
            retrieved.Vectors = StandInVectors.Output(point, store.Release);
        }
        return retrieved;
    }

    /// <summary>
    /// Copies the payload a selector asks for: all of it, the fields it includes, or none; without a selector, all
    /// (<paramref name="byDefault"/>: scroll and retrieve) or none (the Query API).
    /// </summary>
    internal static void Select(StoredPoint point, WithPayloadSelector? selector, bool byDefault, Google.Protobuf.Collections.MapField<string, Value> into)
    {
        var include = selector?.SelectorOptionsCase == WithPayloadSelector.SelectorOptionsOneofCase.Include ? selector.Include.Fields : null;
        var enabled = selector is null ? byDefault : selector.SelectorOptionsCase != WithPayloadSelector.SelectorOptionsOneofCase.Enable || selector.Enable;
        foreach (var (key, value) in point.Payload)
        {
            if (enabled && (include is null || include.Contains(key)))
            {
                into[key] = value;
            }
        }
    }

    private static PointsOperationResponse Completed() =>
        new() { Result = new UpdateResult { OperationId = 1, Status = UpdateStatus.Completed } };
}
