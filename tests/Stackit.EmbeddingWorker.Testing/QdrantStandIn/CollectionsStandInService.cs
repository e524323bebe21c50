using Grpc.Core;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.Testing.QdrantStandIn;

/// <summary><c>qdrant.Collections</c>: existence, creation, the collection info the worker reads, and aliases.</summary>
[BindServiceMethod(typeof(CollectionsStandInService), nameof(BindService))]
// Not sealed: grpc-dotnet binds descriptors only to virtual methods, as it does for generated service bases.
internal class CollectionsStandInService(StandInStore store)
{
    private const string Service = "qdrant.Collections";

    public static void BindService(ServiceBinderBase binder, CollectionsStandInService? service)
    {
        binder.AddMethod(GrpcMethods.Unary<CollectionExistsRequest, CollectionExistsResponse>(Service, nameof(CollectionExists)), (UnaryServerMethod<CollectionExistsRequest, CollectionExistsResponse>)null!);
        binder.AddMethod(GrpcMethods.Unary<CreateCollection, CollectionOperationResponse>(Service, nameof(Create)), (UnaryServerMethod<CreateCollection, CollectionOperationResponse>)null!);
        binder.AddMethod(GrpcMethods.Unary<GetCollectionInfoRequest, GetCollectionInfoResponse>(Service, nameof(Get)), (UnaryServerMethod<GetCollectionInfoRequest, GetCollectionInfoResponse>)null!);
        binder.AddMethod(GrpcMethods.Unary<UpdateCollection, CollectionOperationResponse>(Service, nameof(Update)), (UnaryServerMethod<UpdateCollection, CollectionOperationResponse>)null!);
        binder.AddMethod(GrpcMethods.Unary<ListCollectionsRequest, ListCollectionsResponse>(Service, nameof(List)), (UnaryServerMethod<ListCollectionsRequest, ListCollectionsResponse>)null!);
        binder.AddMethod(GrpcMethods.Unary<DeleteCollection, CollectionOperationResponse>(Service, nameof(Delete)), (UnaryServerMethod<DeleteCollection, CollectionOperationResponse>)null!);
        binder.AddMethod(GrpcMethods.Unary<ChangeAliases, CollectionOperationResponse>(Service, nameof(UpdateAliases)), (UnaryServerMethod<ChangeAliases, CollectionOperationResponse>)null!);
        binder.AddMethod(GrpcMethods.Unary<ListAliasesRequest, ListAliasesResponse>(Service, nameof(ListAliases)), (UnaryServerMethod<ListAliasesRequest, ListAliasesResponse>)null!);
    }

    public virtual Task<CollectionExistsResponse> CollectionExists(CollectionExistsRequest request, ServerCallContext context) =>
        Task.FromResult(new CollectionExistsResponse { Result = new Qdrant.Client.Grpc.CollectionExists { Exists = store.Exists(request.CollectionName) } });

    public virtual Task<CollectionOperationResponse> Create(CreateCollection request, ServerCallContext context)
    {
        store.Create(request);
        return Task.FromResult(new CollectionOperationResponse { Result = true });
    }

    public virtual Task<CollectionOperationResponse> Update(UpdateCollection request, ServerCallContext context)
    {
        store.Update(request);
        return Task.FromResult(new CollectionOperationResponse { Result = true });
    }

    public virtual Task<ListCollectionsResponse> List(ListCollectionsRequest request, ServerCallContext context)
    {
        var response = new ListCollectionsResponse();
        response.Collections.AddRange(store.CollectionNames.Select(name => new CollectionDescription { Name = name }));
        return Task.FromResult(response);
    }

    public virtual Task<CollectionOperationResponse> Delete(DeleteCollection request, ServerCallContext context) =>
        Task.FromResult(new CollectionOperationResponse { Result = store.DeleteCollection(request.CollectionName) });

    public virtual Task<CollectionOperationResponse> UpdateAliases(ChangeAliases request, ServerCallContext context)
    {
        store.ChangeAliases(request);
        return Task.FromResult(new CollectionOperationResponse { Result = true });
    }

    public virtual Task<ListAliasesResponse> ListAliases(ListAliasesRequest request, ServerCallContext context)
    {
        var response = new ListAliasesResponse();
        response.Aliases.AddRange(store.Aliases.Select(a => new AliasDescription { AliasName = a.Key, CollectionName = a.Value }));
        return Task.FromResult(response);
    }

    public virtual async Task<GetCollectionInfoResponse> Get(GetCollectionInfoRequest request, ServerCallContext context)
    {
        var hold = store.InfoHoldOf(request.CollectionName);
        var collection = store.Collection(request.CollectionName);
        var points = (ulong)store.Points(request.CollectionName).Count;
        var building = collection.ReportIndexing();
        var info = new CollectionInfo
        {
            Status = collection.StatusOverride ?? (building ? CollectionStatus.Yellow : CollectionStatus.Green),
            PointsCount = points,
            IndexedVectorsCount = building || collection.Config.HnswConfig.M == 0 ? 0 : points,
            Config = collection.Config,
        };
        foreach (var (field, type) in collection.PayloadIndexes)
        {
            var schema = new PayloadSchemaInfo { DataType = type };
            if (collection.TenantFields.Contains(field))
            {
                schema.Params = new PayloadIndexParams { KeywordIndexParams = new KeywordIndexParams { IsTenant = true } };
            }
            info.PayloadSchema[field] = schema;
        }
        await hold.ConfigureAwait(false);
        return new GetCollectionInfoResponse { Result = info };
    }
}
