package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.DeleteResponse;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.OpResponse;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.client.PutResponse;
import io.etcdrecipes.client.ResponseHeader;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.proto.etcdserverpb.DeleteRangeRequest;
import io.etcdrecipes.proto.etcdserverpb.DeleteRangeResponse;
import io.etcdrecipes.proto.etcdserverpb.PutRequest;
import io.etcdrecipes.proto.etcdserverpb.RangeRequest;
import io.etcdrecipes.proto.etcdserverpb.RangeResponse;
import io.etcdrecipes.proto.etcdserverpb.RequestOp;
import io.etcdrecipes.proto.etcdserverpb.ResponseOp;
import io.etcdrecipes.proto.etcdserverpb.TxnRequest;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Converts between the public KV types and the wire messages, applying the key codec (namespace). */
public final class KvProtos {

  private final KeyCodec keys;

  public KvProtos(KeyCodec keys) {
    this.keys = keys;
  }

  public KeyCodec keys() {
    return keys;
  }

  public static ResponseHeader header(io.etcdrecipes.proto.etcdserverpb.ResponseHeader h) {
    return new ResponseHeader(h.getClusterId(), h.getMemberId(), h.getRevision(), h.getRaftTerm());
  }

  public KeyValue keyValue(io.etcdrecipes.proto.mvccpb.KeyValue kv) {
    return new KeyValue(keys.userKey(kv.getKey()), Bytes.wrap(kv.getValue()), kv.getCreateRevision(),
        kv.getModRevision(), kv.getVersion(), kv.getLease());
  }

  private List<KeyValue> keyValues(List<io.etcdrecipes.proto.mvccpb.KeyValue> kvs) {
    if (kvs.isEmpty()) {
      return Collections.emptyList();
    }
    List<KeyValue> out = new ArrayList<>(kvs.size());
    for (io.etcdrecipes.proto.mvccpb.KeyValue kv : kvs) {
      out.add(keyValue(kv));
    }
    return Collections.unmodifiableList(out);
  }

  public RangeRequest range(ByteSequence key, GetOption o) {
    RangeRequest.Builder b = RangeRequest.newBuilder().setKey(keys.key(o.rangeStart(key)));
    ByteSequence end = o.rangeEnd(key);
    if (end != null) {
      b.setRangeEnd(keys.rangeEnd(end));
    }
    if (o == GetOption.DEFAULT) {
      return b.build();
    }
    return b.setLimit(o.limit())
        .setRevision(o.revision())
        .setSortOrder(RangeRequest.SortOrder.forNumber(o.sortOrder().ordinal()))
        .setSortTarget(RangeRequest.SortTarget.forNumber(o.sortTarget().ordinal()))
        .setSerializable(o.isSerializable())
        .setKeysOnly(o.isKeysOnly())
        .setCountOnly(o.isCountOnly())
        .setMinModRevision(o.minModRevision())
        .setMaxModRevision(o.maxModRevision())
        .setMinCreateRevision(o.minCreateRevision())
        .setMaxCreateRevision(o.maxCreateRevision())
        .build();
  }

  public GetResponse getResponse(RangeResponse r) {
    return new GetResponse(header(r.getHeader()), keyValues(r.getKvsList()), r.getMore(), r.getCount());
  }

  public PutRequest put(ByteSequence key, ByteSequence value, PutOption o) {
    PutRequest.Builder b = PutRequest.newBuilder().setKey(keys.key(key)).setValue(Bytes.unwrap(value));
    if (o == PutOption.DEFAULT) {
      return b.build();
    }
    return b.setLease(o.leaseId()).setPrevKv(o.isPrevKv()).setIgnoreValue(o.isIgnoreValue())
        .setIgnoreLease(o.isIgnoreLease()).build();
  }

  public PutResponse putResponse(io.etcdrecipes.proto.etcdserverpb.PutResponse r) {
    return new PutResponse(header(r.getHeader()), r.hasPrevKv() ? keyValue(r.getPrevKv()) : null);
  }

  public DeleteRangeRequest delete(ByteSequence key, DeleteOption o) {
    DeleteRangeRequest.Builder b = DeleteRangeRequest.newBuilder().setKey(keys.key(o.rangeStart(key)));
    ByteSequence end = o.rangeEnd(key);
    if (end != null) {
      b.setRangeEnd(keys.rangeEnd(end));
    }
    return b.setPrevKv(o.isPrevKv()).build();
  }

  public DeleteResponse deleteResponse(DeleteRangeResponse r) {
    return new DeleteResponse(header(r.getHeader()), r.getDeleted(), keyValues(r.getPrevKvsList()));
  }

  public io.etcdrecipes.proto.etcdserverpb.Compare compare(Compare c) {
    io.etcdrecipes.proto.etcdserverpb.Compare.Builder b = io.etcdrecipes.proto.etcdserverpb.Compare.newBuilder()
        .setKey(keys.key(c.key()))
        .setResult(io.etcdrecipes.proto.etcdserverpb.Compare.CompareResult.forNumber(c.result().ordinal()))
        .setTarget(io.etcdrecipes.proto.etcdserverpb.Compare.CompareTarget.forNumber(c.target().ordinal()));
    if (c.rangeEnd() != null) {
      b.setRangeEnd(keys.rangeEnd(c.rangeEnd()));
    }
    switch (c.target()) {
      case VERSION:
        b.setVersion(c.number());
        break;
      case CREATE:
        b.setCreateRevision(c.number());
        break;
      case MOD:
        b.setModRevision(c.number());
        break;
      case VALUE:
        b.setValue(Bytes.unwrap(c.value()));
        break;
      case LEASE:
        b.setLease(c.number());
        break;
      default:
        throw new IllegalArgumentException("unknown compare target " + c.target());
    }
    return b.build();
  }

  public RequestOp op(Op op) {
    if (op instanceof Op.Get g) {
      return RequestOp.newBuilder().setRequestRange(range(g.key(), g.option())).build();
    }
    if (op instanceof Op.Put p) {
      return RequestOp.newBuilder().setRequestPut(put(p.key(), p.value(), p.option())).build();
    }
    if (op instanceof Op.Delete d) {
      return RequestOp.newBuilder().setRequestDeleteRange(delete(d.key(), d.option())).build();
    }
    Op.Txn t = (Op.Txn) op;
    return RequestOp.newBuilder().setRequestTxn(txn(t.when(), t.then(), t.orElse())).build();
  }

  public TxnRequest txn(List<Compare> when, List<Op> then, List<Op> orElse) {
    TxnRequest.Builder b = TxnRequest.newBuilder();
    for (Compare c : when) {
      b.addCompare(compare(c));
    }
    for (Op o : then) {
      b.addSuccess(op(o));
    }
    for (Op o : orElse) {
      b.addFailure(op(o));
    }
    return b.build();
  }

  public TxnResponse txnResponse(io.etcdrecipes.proto.etcdserverpb.TxnResponse r) {
    return txnResponse(r, header(r.getHeader()));
  }

  private TxnResponse txnResponse(io.etcdrecipes.proto.etcdserverpb.TxnResponse r, ResponseHeader outer) {
    List<OpResponse> responses = new ArrayList<>(r.getResponsesCount());
    for (ResponseOp op : r.getResponsesList()) {
      switch (op.getResponseCase()) {
        case RESPONSE_RANGE:
          RangeResponse rr = op.getResponseRange();
          responses.add(new GetResponse(outer, keyValues(rr.getKvsList()), rr.getMore(), rr.getCount()));
          break;
        case RESPONSE_PUT:
          io.etcdrecipes.proto.etcdserverpb.PutResponse pr = op.getResponsePut();
          responses.add(new PutResponse(outer, pr.hasPrevKv() ? keyValue(pr.getPrevKv()) : null));
          break;
        case RESPONSE_DELETE_RANGE:
          DeleteRangeResponse dr = op.getResponseDeleteRange();
          responses.add(new DeleteResponse(outer, dr.getDeleted(), keyValues(dr.getPrevKvsList())));
          break;
        case RESPONSE_TXN:
          responses.add(txnResponse(op.getResponseTxn(), outer));
          break;
        default:
          throw new IllegalStateException("unknown txn response " + op.getResponseCase());
      }
    }
    return new TxnResponse(outer, r.getSucceeded(), Collections.unmodifiableList(responses));
  }
}
