"""Labels in Chinese (the default) and English, numbers written for Chinese readers, and what a finding
or rejection code means (its fixed text in the protocol's tables).

The language is ``?lang=zh|en`` on any page (kept in a cookie), else the cookie, else Chinese.
``static/console.js`` carries the same number formatting (``formatNumber``); a browser test checks
both give the same text for the same values.
"""
from __future__ import annotations

import math

from protocol.errors import FAULTS
from protocol.findings import FINDINGS

from .i18n_workflows import WORKFLOW_LABELS

LANGUAGES = ("zh", "en")
LANG_COOKIE = "hie_console_lang"

LABELS: dict[str, tuple[str, str]] = {  # key: (中文, English)
    "app.title": ("区域卫生信息平台 · 管理控制台", "Regional health information hub · console"),
    "nav.hospital": ("医院指标", "Hospital indicators"),
    "nav.logout": ("退出", "Sign out"),
    "nav.language": ("English", "中文"),
    "login.title": ("登录", "Sign in"),
    "login.username": ("用户名", "User name"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Sign in"),
    "login.failed": ("用户名或密码错误，或账户已停用。", "Wrong user name or password, or the account is disabled."),
    "login.expired": ("会话已过期，请重新登录。", "Your session has expired: please sign in again."),
    "login.csrf": ("表单已失效，请重试。", "The form expired: please try again."),
    "login.throttled": ("登录失败次数过多，请稍后再试。", "Too many failed sign-ins: please try again later."),
    "refused.csrf": ("请求缺少有效的表单令牌，已拒绝。", "Refused: the request carried no valid form token."),
    "refused.scope": ("无权查看该辖区或机构的数据。", "You may not see this district's or institution's figures."),
    "refused.role": ("您的角色无权打开此页面。", "Your role may not open this page."),
    "refused.invalid": ("请求参数有误。", "A parameter of the request is malformed."),
    "role.analyst": ("分析员", "Analyst"),
    "role.operator": ("运维员", "Operator"),
    "role.institution_admin": ("机构管理员", "Institution administrator"),
    "scope.region": ("辖区", "Region"),
    "scope.institution": ("机构", "Institution"),
    "hospital.title": ("医院运行指标", "Hospital indicators"),
    "unit.month": ("月", "Month"),
    "unit.week": ("周", "Week"),
    "unit.year": ("年", "Year"),
    "period.as_of": ("统计期", "Period"),
    "period.current": ("本期", "This period"),
    "period.previous": ("上期", "Previous period"),
    "period.year_ago": ("去年同期", "Same period last year"),
    "level.district": ("区县", "District"),
    "level.institution": ("机构", "Institution"),
    "level.department": ("科室", "Department"),
    "level.all": ("全部辖区", "All districts"),
    "drill.hint": ("点击图表或表格中的名称可下钻", "Click a name in a chart or table to drill down"),
    "drill.up": ("返回上一级", "Back up one level"),
    "chart.table": ("表格", "Table"),
    "chart.chart": ("图表", "Chart"),
    "chart.loading": ("加载中…", "Loading…"),
    "chart.failed": ("数据加载失败", "The data could not be loaded"),
    "chart.empty": ("本期无数据", "No data for this period"),
    "chart.not_at_level": ("该指标无科室口径", "Not available by department"),
    "cell.suppressed": ("小数抑制", "withheld (small count)"),
    "cell.change": ("环比", "vs previous"),
    "cell.yoy": ("同比", "vs last year"),
    "indicator.visits": ("诊疗人次", "Outpatient and emergency visits"),
    "indicator.admissions": ("住院人数（入院）", "Admissions"),
    "indicator.daily_workload_per_staff": ("职工日均担负诊疗人次", "Visits per staff member per working day"),
    "indicator.charge_per_visit": ("门诊次均费用", "Charge per outpatient visit"),
    "indicator.charge_per_bed_day": ("住院床日均费用", "Charge per bed-day"),
    "indicator.revenue_per_100_fixed_assets": ("每百元固定资产业务收入（月）",
                                              "Revenue per ¥100 of fixed assets (monthly)"),
    "nav.pivot": ("数据透视", "Pivot"),
    "pivot.title": ("数据透视表", "Pivot table"),
    "pivot.cube": ("数据集", "Cube"),
    "pivot.measures": ("度量", "Measures"),
    "pivot.indicators": ("指标", "Indicators"),
    "pivot.levels": ("维度层级", "Levels"),
    "pivot.axis.none": ("不用", "Not used"),
    "pivot.axis.rows": ("行", "Rows"),
    "pivot.axis.columns": ("列", "Columns"),
    "pivot.axis.filter": ("筛选", "Filter"),
    "pivot.filter.codes": ("代码（逗号分隔）", "Codes (comma-separated)"),
    "pivot.period": ("时间范围", "Period"),
    "pivot.period.all": ("全部时间", "All time"),
    "pivot.period.custom": ("自定义", "Custom"),
    "pivot.period.this_month": ("本月", "This month"),
    "pivot.period.last_month": ("上月", "Last month"),
    "pivot.period.this_quarter": ("本季度", "This quarter"),
    "pivot.period.last_quarter": ("上季度", "Last quarter"),
    "pivot.period.this_year": ("本年", "This year"),
    "pivot.period.last_year": ("上年", "Last year"),
    "pivot.period.last_3_months": ("近3个月", "Last 3 months"),
    "pivot.period.last_6_months": ("近6个月", "Last 6 months"),
    "pivot.period.last_12_months": ("近12个月", "Last 12 months"),
    "pivot.period.last_4_weeks": ("近4周", "Last 4 weeks"),
    "pivot.as_of": ("基准日", "As of"),
    "pivot.from": ("起", "From"),
    "pivot.to": ("止", "To"),
    "pivot.compare": ("对比去年同期", "Compare with a year earlier"),
    "pivot.run": ("查询", "Show"),
    "pivot.export_csv": ("导出 CSV", "Export CSV"),
    "pivot.export_xlsx": ("导出 Excel", "Export XLSX"),
    "pivot.loading": ("查询中…", "Loading…"),
    "pivot.failed": ("查询失败", "The query failed"),
    "pivot.pick": ("请至少选择一个度量或指标", "Pick at least one measure or indicator"),
    "pivot.summary": ("时间：{period}；被抑制的格：{suppressed}", "Period: {period}; withheld cells: {suppressed}"),
}
# The public-health dashboards (dashboard.py and its pages): menu, titles, charts, axes, values.
LABELS.update({
    "nav.diseases": ("疾病监测", "Disease surveillance"),
    "nav.drugs": ("药品使用", "Drug use"),
    "nav.referrals": ("双向转诊", "Referrals"),
    "nav.maternal": ("妇幼保健", "Maternal and child health"),
    "diseases.title": ("法定传染病监测", "Notifiable disease surveillance"),
    "diseases.note": ("按诊断日期统计报告病例；发病率 = 病例数 / 申报常住人口 × 10万，按区县口径（机构层级仅显示病例数）。",
                      "Reported cases by diagnosis date; incidence = cases / declared resident population × 100,000, "
                      "by district (institutions show cases only)."),
    "diseases.chart.total_trend": ("报告病例趋势（全部病种）", "Reported cases over time, all diseases"),
    "diseases.chart.trend": ("各病种报告病例趋势", "Reported cases by disease over time"),
    "diseases.chart.places": ("报告病例及发病率（按地区）", "Cases and incidence by place"),
    "diseases.chart.by_disease": ("本期各病种报告病例及发病率", "Cases and incidence by disease, this period"),
    "drugs.title": ("药品使用", "Drug use"),
    "drugs.note": ("处方明细（不含医嘱）；金额单位元；抗菌药物为 ATC J01。",
                   "Prescription lines (not orders); amounts in yuan; antibiotics are ATC J01."),
    "drugs.chart.top_amount": ("金额前十药品", "Top 10 drugs by amount"),
    "drugs.chart.top_lines": ("处方条数前十药品", "Top 10 drugs by prescription lines"),
    "drugs.chart.antibiotic": ("处方抗菌药物使用率（按地区）", "Antibiotic prescription rate by place"),
    "drugs.chart.antibiotic_trend": ("处方抗菌药物使用率趋势", "Antibiotic prescription rate over time"),
    "drugs.chart.places": ("处方金额及条数（按地区）", "Prescription amount and lines by place"),
    "referrals.title": ("双向转诊", "Two-way referrals"),
    "referrals.note": ("按转出机构统计；转入仅含辖区内机构转出的转诊；尚无接诊结果，故不提供接收率与时长。",
                       "Counted by the sending institution; received means sent from within your scope; no outcome "
                       "is recorded yet, so no acceptance rate or turnaround."),
    "referrals.chart.trend": ("转诊人次趋势（按方向）", "Referrals over time by direction"),
    "referrals.chart.sent": ("转出（按转出机构）", "Sent, by sending place"),
    "referrals.chart.received": ("转入（按接收机构）", "Received, by receiving institution"),
    "maternal.title": ("妇幼保健", "Maternal and child health"),
    "maternal.note": ("覆盖率分母为申报的活产数 / 7 岁以下儿童数，按区县口径（机构层级仅显示人数与次数）。",
                      "Coverage divides by declared live births / children under 7, by district "
                      "(institutions show counts only)."),
    "maternal.chart.antenatal": ("产前检查覆盖率（按地区）", "Antenatal checkup coverage by place"),
    "maternal.chart.child": ("7 岁以下儿童健康管理率（按地区）", "Health management of children under 7 by place"),
    "maternal.chart.antenatal_trend": ("产前检查人数趋势", "Women with antenatal checkups over time"),
    "maternal.chart.child_trend": ("儿童健康检查人数趋势", "Children checked over time"),
    "chart.withheld": ("{n} 个单元格因小数抑制未显示（—）。", "{n} cells withheld as small counts (—)."),
    "chart.untraced": ("计数可点击溯源；比率、金额、去重数、条件计数及合计不能逐条溯源（无链接）。",
                       "Counts link to their facts; rates, sums, distinct and conditional counts and totals "
                       "cannot name their facts (no link)."),
    "chart.district_only": ("比率按区县口径，本层级不显示。", "Rates are per district: not shown at this level."),
    "axis.institution.district": ("区县", "District"),
    "axis.institution.institution": ("机构", "Institution"),
    "axis.date.month": ("月份", "Month"),
    "axis.date.week": ("周（周一）", "Week (Monday)"),
    "axis.date.year": ("年份", "Year"),
    "axis.disease.disease": ("病种", "Disease"),
    "axis.drug.drug": ("药品", "Drug"),
    "axis.referral.direction": ("转诊方向", "Direction"),
    "axis.target.institution": ("接收机构", "Receiving institution"),
    "code.referral.direction.up": ("上转", "Up"),
    "code.referral.direction.down": ("下转", "Down"),
    "value.diseases.cases": ("报告病例数", "Reported cases"),
    "value.diseases.incidence_per_100k": ("报告发病率", "Incidence"),
    "value.prescriptions.amount_fen": ("金额", "Amount"),
    "value.prescriptions.lines": ("处方条数", "Prescription lines"),
    "value.prescriptions.prescriptions": ("处方数", "Prescriptions"),
    "value.prescriptions.antibiotic_prescriptions": ("含抗菌药物处方数", "Prescriptions with an antibiotic"),
    "value.prescriptions.antibiotic_rate": ("抗菌药物使用率", "Antibiotic rate"),
    "value.referrals.referrals": ("转诊人次", "Referrals"),
    "value.referrals.up": ("上转", "Up"),
    "value.referrals.down": ("下转", "Down"),
    "value.maternal.antenatal_women": ("产前检查人数", "Women with antenatal checkups"),
    "value.maternal.antenatal_checkups": ("产前检查次数", "Antenatal checkups"),
    "value.maternal.women": ("孕产妇检查人数", "Women checked"),
    "value.maternal.checkups": ("孕产妇检查次数", "Maternal checkups"),
    "value.maternal.antenatal_coverage": ("产前检查覆盖率", "Antenatal coverage"),
    "value.maternal.antenatal_visits_per_woman": ("人均产前检查次数", "Antenatal checkups per woman"),
    "value.child.children": ("检查儿童数", "Children checked"),
    "value.child.checkups": ("儿童检查次数", "Child checkups"),
    "value.child.child_checkup_coverage": ("7 岁以下儿童健康管理率", "Under-7 health management rate"),
})

LABELS.update({  # the exchange monitor and the lineage view
    "nav.monitor": ("交换监控", "Exchange monitor"),
    "nav.lineage": ("数据溯源", "Lineage"),
    "monitor.title": ("数据交换监控", "Exchange monitor"),
    "monitor.scope": ("监控范围", "Watching"),
    "monitor.scope.all": ("全部成员", "every member"),
    "monitor.range": ("时间范围", "Period"),
    "monitor.range.24h": ("近24小时（按小时）", "Last 24 hours (hourly)"),
    "monitor.range.7d": ("近7天（按日）", "Last 7 days (daily)"),
    "monitor.traffic": ("交换量（按成员）", "Traffic per member"),
    "monitor.rejections": ("拒收与处理失败（按错误码）", "Rejections by code"),
    "monitor.silent": ("静默成员", "Silent members"),
    "monitor.backlog": ("待处理积压", "Processing backlog"),
    "monitor.etl": ("ETL 运行与对账", "ETL runs and reconcile results"),
    "monitor.journey": ("报文轨迹", "A message's journey"),
    "monitor.journey.lookup": ("查询", "Look up"),
    "monitor.journey.none": ("在您的范围内没有该 MessageID 的报文。", "No message with this MessageID in your scope."),
    "monitor.bucket": ("时段", "Bucket"),
    "monitor.member": ("成员", "Member"),
    "monitor.member.unknown": ("（发送方未确认）", "(sender not established)"),
    "monitor.received": ("接收", "Received"),
    "monitor.accepted": ("入库", "Accepted"),
    "monitor.refused": ("拒收", "Refused"),
    "monitor.processed": ("已处理", "Processed"),
    "monitor.rejected": ("处理失败", "Rejected"),
    "monitor.pending": ("待处理", "Pending"),
    "monitor.total": ("合计", "Total"),
    "monitor.stage": ("环节", "Stage"),
    "monitor.stage.gate": ("安全网关", "gate"),
    "monitor.stage.intake": ("接收", "intake"),
    "monitor.stage.processing": ("处理", "processing"),
    "monitor.code": ("错误码", "Code"),
    "monitor.meaning": ("含义", "Meaning"),
    "monitor.count": ("次数", "Count"),
    "monitor.members": ("成员数", "Members"),
    "monitor.fields": ("常见出错字段", "Fields most often at fault"),
    "monitor.quiet_hours": ("静默时长（小时）", "Quiet for (hours)"),
    "monitor.last_received": ("最后接收", "Last received"),
    "monitor.never": ("从未", "never"),
    "monitor.silent_for": ("静默时长", "Silent for"),
    "monitor.oldest": ("最早接收", "Oldest received"),
    "monitor.age": ("积压时长", "Age"),
    "monitor.etl.kind": ("类型", "Kind"),
    "monitor.etl.status": ("状态", "Status"),
    "monitor.etl.started": ("开始", "Started"),
    "monitor.etl.seconds": ("耗时（秒）", "Seconds"),
    "monitor.etl.rows": ("读 / 写 / 拒", "Read / written / rejected"),
    "monitor.etl.error": ("错误码", "Error code"),
    "monitor.etl.last_finished": ("最近一次完成", "Last finished"),
    "monitor.reconcile": ("对账结果", "Reconcile results"),
    "monitor.reconcile.checked": ("对账时间", "Checked"),
    "monitor.reconcile.pairs": ("比对（事实·日）", "(fact, day) pairs"),
    "monitor.reconcile.differing": ("不一致", "Differing"),
    "monitor.reconcile.rows": ("OLTP / 集市行数", "OLTP / mart rows"),
    "monitor.step": ("步骤", "Step"),
    "monitor.at": ("时间", "Time"),
    "monitor.detail": ("标识、摘要与状态", "Ids, digests and status"),
    "monitor.empty": ("无", "None"),
    "monitor.seconds": ("秒", "s"),
    "lineage.title": ("数据溯源", "Lineage"),
    "lineage.cell": ("所选数值", "The number"),
    "lineage.facts": ("数值背后的事实（前50条）", "The facts behind it (first 50)"),
    "lineage.more": ("还有更多事实未列出。", "More facts exist than are listed."),
    "lineage.withheld": ("该格因小数抑制而不可溯源。", "This cell is withheld (small count): it has no lineage."),
    "lineage.fact": ("事实", "Fact"),
    "lineage.fact_key": ("事实键", "Fact key"),
    "lineage.lookup": ("溯源", "Trace"),
    "lineage.oltp": ("OLTP 行", "OLTP row"),
    "lineage.message": ("签名报文", "Signed message"),
    "lineage.document": ("文档", "Document"),
    "lineage.journey": ("查看报文轨迹", "See the message's journey"),
    "lineage.from_dashboard": ("点击仪表板上的数值即可溯源。", "Click a number on a dashboard to trace it."),
    "lineage.link": ("溯源", "trace"),
    "lineage.period": ("事实日期范围", "Facts dated"),
})

LABELS.update({  # the exchange monitor's journey: step names, refusal stages and the detail's keys
    "monitor.step.refused": ("拒收", "refused"),
    "monitor.step.received": ("接收", "received"),
    "monitor.step.gate": ("安全网关", "gate"),
    "monitor.step.stored": ("入库", "stored"),
    "monitor.step.pending": ("待处理", "pending"),
    "monitor.step.processed": ("已处理", "processed"),
    "monitor.step.rejected": ("处理失败", "rejected"),
    "monitor.step.reply": ("回执", "reply"),
    "monitor.verdict.passed": ("通过", "passed"),
    "monitor.reply.ack": ("处理回执", "ack"),
    "monitor.key.stage": ("环节", "stage"),
    "monitor.key.code": ("错误码", "code"),
    "monitor.key.message": ("含义", "message"),
    "monitor.key.http_status": ("HTTP 状态", "http_status"),
    "monitor.key.field": ("出错字段", "field"),
    "monitor.key.envelope_sha256": ("信封摘要", "envelope_sha256"),
    "monitor.key.request_message_id": ("请求 MessageID", "request_message_id"),
    "monitor.key.action": ("操作", "action"),
    "monitor.key.cert_serial": ("证书序列号", "cert_serial"),
    "monitor.key.item_index": ("批内序号", "item_index"),
    "monitor.key.message_row_id": ("报文行号", "message_row_id"),
    "monitor.key.document_type": ("文档类型", "document_type"),
    "monitor.key.document_sha256": ("文档摘要", "document_sha256"),
    "monitor.key.verdict": ("结论", "verdict"),
    "monitor.key.kind": ("回执类型", "kind"),
    "monitor.key.reply_id": ("回执编号", "reply_id"),
    "monitor.key.created_at": ("生成", "created_at"),
    "monitor.key.fetched_at": ("取回", "fetched_at"),
    "monitor.key.acked_at": ("确认", "acked_at"),
    "monitor.kind.hospital": ("医院", "hospital"),
    "monitor.kind.community_center": ("社区卫生服务中心", "community centre"),
    "monitor.kind.clinic": ("社区卫生服务站/诊所", "clinic"),
    "monitor.etl.kind.incremental": ("增量", "incremental"),
    "monitor.etl.kind.backfill": ("回填", "backfill"),
    "monitor.etl.status.running": ("运行中", "running"),
    "monitor.etl.status.finished": ("已完成", "finished"),
    "monitor.etl.status.failed": ("失败", "failed"),
})

LABELS.update({  # the district map card (geo.py, map.js)
    "map.title": ("辖区地图", "District map"),
    "map.value": ("地图显示", "Map shows"),
    "map.schematic": ("示意图：各区县以等大六边形表示，不是真实边界。",
                      "Schematic: each district is an equal hexagon, not its real boundary."),
    "map.no_data": ("无数据", "No data"),
    "map.withheld": ("小数抑制，不显示", "Withheld (small count)"),
    "map.waiting": ("等待对应卡片的数据…", "Waiting for the card's data…"),
    "map.hint": ("点击区县下钻到其机构；灰色为无数据或小数抑制。",
                 "Click a district to drill to its institutions; grey is no data or withheld."),
    "map.empty": ("地图中没有您范围内的区县。", "The map holds no district within your scope."),
})

LABELS.update({  # immunization on the maternal-and-child page (maternal.py)
    "maternal.chart.immunization": ("预防接种率（按活产数，按地区）", "Immunization per live births, by place"),
    "maternal.chart.vaccines": ("各疫苗接种率（按活产数）", "Immunization per live births, by vaccine"),
    "axis.vaccine.vaccine": ("疫苗", "Vaccine"),
    "axis.vaccine.programme": ("免疫规划类别", "Programme"),
    "code.vaccine.programme.national": ("免疫规划疫苗", "National programme"),
    "code.vaccine.programme.optional": ("非免疫规划疫苗", "Optional"),
    "value.immunization.children": ("接种人数", "Children vaccinated"),
    "value.immunization.doses": ("接种剂次", "Doses"),
    "value.immunization.coverage_per_live_births": ("接种率（按活产数）", "Coverage per live births"),
})


LABELS.update({  # the data-quality page (quality.py)
    "nav.quality": ("数据质量", "Data quality"),
    "quality.title": ("数据质量", "Data quality"),
    "quality.month": ("统计月份", "Month"),
    "quality.show": ("查询", "Show"),
    "quality.ranking": ("机构排名", "Institutions ranked"),
    "quality.rank": ("名次", "Rank"),
    "quality.institution": ("机构", "Institution"),
    "quality.withheld": ("“—”：分母小于5，按小数抑制规则不显示。", "—: withheld (a denominator below 5)."),
    "quality.empty": ("本月无数据。", "No data for this month."),
    "quality.none": ("无", "None"),
    "quality.codes": ("问题明细", "Codes"),
    "quality.findings": ("数据质量问题（按代码）", "Findings by code"),
    "quality.rejections": ("拒收（按代码）", "Rejections by code"),
    "quality.finding.dimension": ("质量维度", "Dimension"),
    "quality.finding.code": ("问题代码", "Code"),
    "quality.rejection.code": ("拒收代码", "Code"),
    "quality.dimension.completeness": ("完整性", "Completeness"),
    "quality.dimension.validity": ("有效性", "Validity"),
    "quality.dimension.timeliness": ("及时性", "Timeliness"),
    "quality.dimension.consistency": ("一致性", "Consistency"),
    "quality.dimension.linkage": ("关联性", "Linkage"),
    "quality.figure.resident_id_rate": ("身份证号完整有效率", "Valid resident ID"),
    "quality.figure.coded_diagnosis_rate": ("主要诊断编码率", "Coded primary diagnosis"),
    "quality.figure.charges_rate": ("费用完整率", "Visits with charges"),
    "quality.figure.patient_documents": ("患者文档数", "Patient documents"),
    "quality.figure.findings_per_1000": ("每千份文档问题数", "Findings per 1,000 documents"),
    "quality.figure.rejections_per_1000": ("每千条消息拒收数", "Rejections per 1,000 messages"),
    "quality.figure.documents": ("文档数", "Documents"),
    "quality.figure.within_24h_rate": ("24小时内到达率", "Within 24 h"),
    "quality.figure.within_72h_rate": ("72小时内到达率", "Within 72 h"),
    "quality.figure.median_lateness_hours": ("到达时长中位数", "Median hours to arrival"),
    "quality.figure.visits_vs_reported": ("文档人次/月报人次", "Counted / reported visits"),
    "quality.figure.visits": ("文档统计人次", "Visits counted"),
    "quality.figure.institution_month.reported_visits": ("月报诊疗人次", "Visits reported"),
    "quality.figure.visit_gap": ("人次差额（绝对值）", "Gap (absolute)"),
    "quality.figure.linkage_rate": ("关联有效身份证号人员率", "Linked to a person with a valid ID"),
    "quality.figure.findings": ("问题数", "Findings"),
    "quality.figure.per_1000_documents": ("每千份文档", "Per 1,000 documents"),
    "quality.figure.rejections": ("拒收数", "Rejections"),
    "quality.figure.per_1000_messages": ("每千条消息", "Per 1,000 messages"),
})

LABELS.update(WORKFLOW_LABELS)  # the workflow pages' (i18n_workflows.py)


def language(requested: str | None, cookie: str | None) -> str:
    """The page's language: the request's ``lang`` if known, else the cookie's, else Chinese."""
    for candidate in (requested, cookie):
        if candidate in LANGUAGES:
            return candidate
    return "zh"


def code_message(code: str, lang: str) -> str:
    """What a finding or rejection code means, in ``lang``: the fixed text beside it in
    ``protocol.findings.FINDINGS`` or the fault table (``protocol.errors.FAULTS``); "" for neither."""
    spec = FINDINGS.get(code) or FAULTS.get(code)
    if spec is None:
        return ""
    return spec.message_zh if lang == "zh" else spec.message


def labels(lang: str) -> dict[str, str]:
    """Every label in ``lang`` (the pages and their scripts read them from this one table)."""
    index = LANGUAGES.index(lang)
    return {key: pair[index] for key, pair in LABELS.items()}


def format_number(value: float | int | None, *, unit: str = "", lang: str = "zh") -> str:
    """``value`` for a reader: 万 / 亿 in Chinese (12.35万), thousands separators in English; money (元) with ¥.

    None (withheld or undefined) is an em dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    money = unit == "元"
    magnitude = abs(value)
    if lang == "zh" and magnitude >= 1e8:
        text = f"{value / 1e8:,.2f}亿"
    elif lang == "zh" and magnitude >= 1e4:
        text = f"{value / 1e4:,.2f}万"
    elif money or (isinstance(value, float) and value != int(value)):
        text = f"{value:,.2f}"
    else:
        text = f"{int(value):,}"
    if money:
        return ("-¥" + text[1:]) if text.startswith("-") else "¥" + text
    return text


__all__ = ["LANGUAGES", "LANG_COOKIE", "LABELS", "language", "labels", "code_message", "format_number"]
