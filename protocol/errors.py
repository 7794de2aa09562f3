"""The protocol's one error root and the registry of machine codes (the fault table).

Every rejection the hub makes carries a dotted machine code from ``FAULTS`` and a short human
message written here (in English, and in Chinese for the console's readers), never built from the
input. SOAP Faults and HTTP errors are rendered from
the code alone (the hub's ``hub.soap.faults``; the client reads them back); ``docs/faults.md`` documents the same table and a test
keeps the two in step.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaultSpec:
    """What a machine code means: who is at fault, the HTTP status, a fixed human message in English
    (what Faults and JSON errors carry) and the same meaning in Chinese (what the console shows)."""

    code: str
    party: str  # "Client" (the sender must change something) or "Server" (retry later)
    http_status: int
    message: str
    message_zh: str

    @property
    def retryable(self) -> bool:
        return self.party == "Server"


_SPECS = [
    # transport and parser
    FaultSpec("transport.too_large", "Client", 413, "message exceeds the size limit",
              "报文超过大小限制"),
    FaultSpec("transport.encoding", "Client", 415, "unsupported content type or content encoding",
              "不支持的内容类型或内容编码"),
    FaultSpec("xml.malformed", "Client", 400, "message is not well-formed XML (UTF-8)",
              "报文不是格式正确的 XML（UTF-8）"),
    FaultSpec("xml.forbidden", "Client", 400,
              "message contains a forbidden XML construct (DTD, entity, XInclude, comment or processing instruction)",
              "报文含有禁止的 XML 结构（DTD、实体、XInclude、注释或处理指令）"),
    FaultSpec("xml.too_deep", "Client", 400, "message nesting exceeds the depth limit",
              "报文嵌套层数超过限制"),
    FaultSpec("xml.too_complex", "Client", 400,
              "message has more elements or namespace declarations than allowed",
              "报文的元素或命名空间声明数量超过限制"),
    FaultSpec("soap.invalid", "Client", 400, "not a SOAP 1.1 envelope with exactly one Header and one Body",
              "不是恰好含一个 Header 和一个 Body 的 SOAP 1.1 信封"),
    FaultSpec("soap.must_understand", "Client", 400, "a header block marked mustUnderstand is not supported",
              "不支持标记为 mustUnderstand 的头部块"),
    FaultSpec("soap.operation.unknown", "Client", 400, "unknown operation",
              "未知的操作"),
    FaultSpec("soap.operation.invalid", "Client", 400, "operation parameters are malformed or out of range",
              "操作参数格式错误或超出范围"),
    # WS-Security: header and signature
    FaultSpec("security.header.invalid", "Client", 400,
              "WS-Security header missing or incomplete (Security, BinarySecurityToken, EncryptedKey, MessageID, To, Action, From)",
              "WS-Security 头部缺失或不完整（Security、BinarySecurityToken、EncryptedKey、MessageID、To、Action、From）"),
    FaultSpec("security.signature.missing", "Client", 400, "message is not signed",
              "报文未签名"),
    FaultSpec("security.signature.incomplete", "Client", 400,
              "signature does not cover the required parts (Body, Timestamp, EncryptedKey, MessageID, To, Action, From)",
              "签名未覆盖必需的部分（Body、Timestamp、EncryptedKey、MessageID、To、Action、From）"),
    FaultSpec("security.signature.wrapping", "Client", 400,
              "signed references are ambiguous or point outside their required positions",
              "签名引用有歧义，或指向规定位置之外"),
    FaultSpec("security.signature.invalid", "Client", 400, "signature verification failed",
              "签名验证失败"),
    FaultSpec("security.algorithm.forbidden", "Client", 400, "algorithm or transform not allowed by the profile",
              "算法或转换不为安全规范所允许"),
    # certificates
    FaultSpec("security.certificate.untrusted", "Client", 403, "certificate is not issued by the hub CA",
              "证书不是平台 CA 签发的"),
    FaultSpec("security.certificate.expired", "Client", 403, "certificate is outside its validity period",
              "证书不在有效期内"),
    FaultSpec("security.certificate.revoked", "Client", 403, "certificate has been revoked",
              "证书已被吊销"),
    FaultSpec("security.certificate.usage", "Client", 403, "certificate key usage does not allow signing",
              "证书的密钥用途不允许签名"),
    FaultSpec("security.sender.mismatch", "Client", 403,
              "wsa:From does not name the member the certificate was issued to",
              "wsa:From 与证书所属成员不符"),
    # freshness and replay
    FaultSpec("security.timestamp.invalid", "Client", 400,
              "timestamp missing, malformed or valid for longer than the profile allows",
              "时间戳缺失、格式错误，或有效期长于规范允许"),
    FaultSpec("security.timestamp.expired", "Client", 400, "message timestamp has expired",
              "报文时间戳已过期"),
    FaultSpec("security.timestamp.future", "Client", 400, "message timestamp is in the future beyond the allowed skew",
              "报文时间戳超前，超出允许的时钟偏差"),
    FaultSpec("security.replay", "Client", 409, "request MessageID was already used",
              "请求的 MessageID 已被使用（重放）"),
    # decryption: one code for every failure after the signature check
    FaultSpec("security.decryption.failed", "Client", 400, "message could not be decrypted",
              "报文无法解密"),
    FaultSpec("security.recipient.unknown", "Client", 400,
              "EncryptedKey does not name the recipient's certificate (issuer and serial number)",
              "EncryptedKey 未指明接收方证书（颁发者与序列号）"),
    # exchange semantics
    FaultSpec("exchange.message_id.reused", "Client", 409, "MessageID was already used for a different document",
              "该 MessageID 已用于另一份文档"),
    FaultSpec("exchange.document.invalid", "Client", 400,
              "Document must hold exactly one XML element (absolute namespace URIs only) and a MessageId",
              "Document 必须恰好含一个 XML 元素（仅限绝对命名空间 URI）和一个 MessageId"),
    FaultSpec("exchange.batch.too_large", "Client", 413, "batch holds more documents than allowed",
              "批量中的文档数超过限制"),
    FaultSpec("exchange.batch.invalid", "Client", 400, "batch is empty or its items are malformed",
              "批量为空或其条目格式错误"),
    FaultSpec("exchange.message.not_found", "Client", 404, "no such message for this member",
              "该成员没有此报文"),
    # health-record store: documents after the gate
    FaultSpec("record.type.unknown", "Client", 400, "document type or schema version is not known to the hub",
              "平台不认识该文档类型或模式版本"),
    FaultSpec("record.schema.invalid", "Client", 400, "document does not conform to its schema (see the field)",
              "文档不符合其模式（见出错字段）"),
    FaultSpec("record.code.unknown", "Client", 400, "a coded field uses a code outside its code list (see the field)",
              "编码字段使用了代码表之外的代码（见出错字段）"),
    FaultSpec("record.author.mismatch", "Client", 403, "document author institution is not the sending member",
              "文档的作者机构不是发送成员"),
    FaultSpec("record.patient.invalid", "Client", 400,
              "patient identification is unusable (no identifier, and no name with a birth date)",
              "患者身份无法识别（既无标识，也无姓名和出生日期）"),
    FaultSpec("record.cancel.unknown", "Client", 404, "the cancelled document is not known for this institution",
              "本机构没有被作废的这份文档"),
    # plausibility rules of error severity (hub/records/quality.py): stored, these would corrupt the figures
    FaultSpec("record.stay.discharge_before_admission", "Client", 400,
              "the stay's discharge time is before its admission time (see the field)",
              "出院时间早于入院时间（见出错字段）"),
    FaultSpec("record.charges.implausible", "Client", 400,
              "the total charges exceed the ceiling no real bill of this document type reaches (see the field)",
              "费用合计超过该类文档的合理上限（见出错字段）"),
    FaultSpec("record.disease.classification.not_allowed", "Client", 400,
              "the case classification is not one this disease is reported as (see the field)",
              "该病种不能按此病例分类报告（见出错字段）"),
    # master patient index
    FaultSpec("mpi.person.not_found", "Client", 404, "no such person in the master patient index",
              "主索引中没有此人"),
    FaultSpec("mpi.conflict", "Client", 409, "the persons cannot be merged or unmerged in their current state",
              "这些人员在当前状态下不能合并或撤销合并"),
    FaultSpec("mpi.busy", "Server", 503, "the master patient index is busy with resolutions in progress; retry shortly",
              "主索引正忙于处理中的匹配，请稍后重试"),
    # registries and record access
    FaultSpec("registry.invalid", "Client", 400, "registry entry is incomplete or uses unknown codes (see the field)",
              "注册信息不完整或使用了未知代码（见出错字段）"),
    FaultSpec("registry.not_found", "Client", 404, "no such registry entry",
              "没有此注册条目"),
    FaultSpec("registry.population.invalid", "Client", 400,
              "population figures are malformed, out of range or name an unknown division (see the row and field)",
              "人口数据格式错误、超出范围或使用了未知的行政区划（见出错的行和字段）"),
    FaultSpec("region.map.invalid", "Client", 400,
              "not a GeoJSON FeatureCollection of the registry's districts (see the field)",
              "不是由注册区县组成的 GeoJSON FeatureCollection（见出错字段）"),
    FaultSpec("access.denied", "Client", 403, "not allowed to read this record",
              "无权读取此记录"),
    FaultSpec("access.purpose.required", "Client", 403,
              "reading records of another institution's patient needs a stated purpose of use",
              "读取其他机构患者的记录须说明使用目的"),
    # workflows: alerts and subscriptions (hub/workflows)
    FaultSpec("workflow.alert.not_found", "Client", 404, "no such alert, or not one the caller may see",
              "没有此预警，或无权查看"),
    FaultSpec("workflow.alert.transition", "Client", 409, "the alert cannot make this move from its current state",
              "预警在当前状态下不能进行此操作"),
    FaultSpec("workflow.subscription.invalid", "Client", 400,
              "unknown topic, or a filter the topic does not take (see the field)",
              "未知的订阅主题，或该主题不接受此筛选条件（见出错字段）"),
    FaultSpec("workflow.referral.not_found", "Client", 404, "no such referral, or not one of the caller's cases",
              "没有此转诊单，或不是本机构的转诊"),
    FaultSpec("workflow.referral.transition", "Client", 409,
              "the referral cannot make this move from its current state",
              "转诊单在当前状态下不能进行此操作"),
    FaultSpec("workflow.referral.turn", "Client", 403, "this move is the other party's to make",
              "此操作应由转诊的另一方执行"),
    FaultSpec("workflow.referral.invalid", "Client", 400,
              "the move lacks what it needs or names something unknown (see the field)",
              "转诊操作缺少必要内容或引用了未知的代码/机构（见出错字段）"),
    FaultSpec("workflow.drug.not_found", "Client", 404, "no movement or dispense names this drug batch",
              "没有任何药品流通或发放记录涉及此批次"),
    FaultSpec("workflow.recall.invalid", "Client", 400,
              "the recall needs a known batch (and its drug if the number is ambiguous) and a reason (see the field)",
              "召回须指定已知批次（批号有歧义时须指定药品）并说明原因（见出错字段）"),
    FaultSpec("workflow.recall.not_found", "Client", 404, "no such recall, or not one the caller may see",
              "没有此召回，或无权查看"),
    FaultSpec("workflow.recall.duplicate", "Client", 409, "the batch already has a recall",
              "该批次已有召回"),
    FaultSpec("workflow.recall.unreached", "Client", 409,
              "the batch reached no registered institution: there is no one to notify",
              "该批次未到达任何登记机构，无可通知对象"),
    FaultSpec("workflow.alert.denied", "Client", 403,
              "only the alert's owner, or a bureau whose districts hold it, may acknowledge or close it",
              "只有预警的负责方或其所在区县的卫生健康行政部门可以确认或关闭预警"),
    FaultSpec("workflow.subscription.scope", "Client", 403,
              "a member subscribes to the disease alerts of the districts it is registered in only",
              "只能订阅本机构登记所在区县（或管辖区县）的传染病预警"),
    # lineage: a mart fact back to the signed message
    FaultSpec("lineage.key.invalid", "Client", 400, "a fact key is <OLTP table>:<row id>, e.g. record_encounter:42",
              "事实键应为 <OLTP 表>:<行号>，例如 record_encounter:42"),
    FaultSpec("lineage.fact.not_found", "Client", 404, "no such OLTP row (retracted by a correction, or never stored)",
              "没有此 OLTP 行（已被更正撤回，或从未存储）"),
    # analytics: cube queries over the OLAP mart
    FaultSpec("cube.not_found", "Client", 404, "no such cube",
              "没有此数据立方体"),
    FaultSpec("cube.query.invalid", "Client", 400, "cube query is malformed (see the field)",
              "立方体查询格式错误（见出错字段）"),
    FaultSpec("cube.level.unknown", "Client", 400,
              "the cube has no such level, or it cannot be filtered (see the field)",
              "立方体没有此层级，或该层级不能筛选（见出错字段）"),
    FaultSpec("cube.measure.unknown", "Client", 400, "no such measure (see the field)",
              "没有此度量（见出错字段）"),
    FaultSpec("cube.indicator.unknown", "Client", 400, "the cube has no such indicator (see the field)",
              "立方体没有此指标（见出错字段）"),
    FaultSpec("cube.drill_across", "Client", 400,
              "a measure of another cube cannot be broken down by a level of the query (see the field)",
              "其他立方体的度量不能按查询中的层级细分（见出错字段）"),
    FaultSpec("cube.query.too_large", "Client", 400,
              "the query has too many cells; group by coarser levels or filter",
              "查询的单元格过多；请按较粗的层级分组或加筛选"),
    FaultSpec("cube.pivot.invalid", "Client", 400,
              "rows and columns must hold exactly the query's group-by levels, each once (see the field)",
              "行和列必须恰好包含查询的分组层级，各一次（见出错字段）"),
    FaultSpec("cube.export.format", "Client", 400, "export format is csv or xlsx",
              "导出格式为 csv 或 xlsx"),
    FaultSpec("olap.unavailable", "Server", 503, "the analytics mart is unavailable; retry later",
              "分析数据集市暂不可用，请稍后重试"),
    # JSON APIs: requests FastAPI could not parse or route
    FaultSpec("request.invalid", "Client", 422, "a request parameter or body field is malformed (see the field)",
              "请求参数或请求体字段格式错误（见出错字段）"),
    FaultSpec("request.not_json", "Client", 400, "request body is not JSON",
              "请求体不是 JSON"),
    FaultSpec("request.not_found", "Client", 404, "no such path",
              "没有此路径"),
    FaultSpec("request.method", "Client", 405, "method not allowed on this path",
              "此路径不允许该请求方法"),
    # server side
    FaultSpec("server.unavailable", "Server", 503, "hub is temporarily unable to accept messages; retry later",
              "平台暂时无法接收报文，请稍后重试"),
    FaultSpec("server.error", "Server", 500, "the hub failed to answer this request",
              "平台未能应答此请求"),
]

FAULTS: dict[str, FaultSpec] = {spec.code: spec for spec in _SPECS}


class HubError(Exception):
    """Root of every error the hub raises on purpose; carries a registered machine code."""

    def __init__(self, code: str, detail: str | None = None, **fields):
        if code not in FAULTS:
            raise ValueError(f"unregistered fault code {code!r}")
        self.code = code
        self.detail = detail  # for operators' logs only: never contains input data
        self.fields = fields
        super().__init__(code if detail is None else f"{code}: {detail}")

    @property
    def spec(self) -> FaultSpec:
        return FAULTS[self.code]

    @property
    def message(self) -> str:
        return self.spec.message


class SecurityError(HubError):
    """A message failed the security gate."""


class RecordError(HubError):
    """A verified document cannot become health records; ``field`` is the XPath at fault, if any."""

    def __init__(self, code: str, detail: str | None = None, *, field: str | None = None, **fields):
        super().__init__(code, detail, field=field, **fields)
        self.field = field


__all__ = ["FAULTS", "FaultSpec", "HubError", "SecurityError", "RecordError"]
