// Message tables (zh-CN default, en), the locale switch (remembered in localStorage), and
// number and date formatting through Intl in the current locale.
import { ref } from 'vue';

const messages = {
  'zh-CN': {
    app: '数绿 · 能碳管理平台',
    lang: 'English', langLabel: '切换语言',
    login: '登录', logout: '退出', username: '用户名', password: '密码',
    loginFailed: '登录失败', loginHint: '使用管理员分配的账号登录',
    quarter: '{y} 年第 {q} 季度',
    required: '必填', datePlaceholder: '年-月-日', dateInvalid: '日期格式为 2025-03-01', loading: '加载中…', error: '出错了', noData: '无数据',
    nav: { overview: '总览', explore: '组织与计量', carbon: '碳核算', forecast: '预测', tariffs: '分时电价', bill: '电费', schedule: '优化调度', manage: '管理' },
    scope: '范围', allScope: '全部', role: '角色',
    overview: {
      title: '总览', wall: '大屏模式', exitWall: '退出大屏', node: '节点',
      asOf: '数据截至', lag: '最新数据距今 {d} 天', today: '当日能耗', month: '本月能耗',
      carbonMonth: '本月碳排放', carbonYear: '年初至今碳排放', tce: '综合能耗（本月）',
      green: '绿电占比（本月）', peak: '本月最大需量（15 分钟）', alarms: '停报计量', alarmsNone: '所有计量点均正常上报',
      vsPrev: '环比', vsLastYear: '同比', monthToDate: '本月至今；月末后与上月、去年同月比较', trend: '近 30 日用电', lastReport: '最后上报', never: '从未上报',
      monitored: '监测 {n} 个计量点', daily: '日用电量', peakNote: '15 分钟平均负荷最大值，与电费单一致', peakAt: '出现于 {t}',
      fieldDevices: '采集设备', collectorsNone: '尚无采集器上报状态', collectorReport: '最后报告 {t}',
      collectorSilent: '采集器已失联（超过 2 分钟未报告）', devicesAllOk: '{n} 台设备均正常上报', device: '设备',
      channel: '通道', lastRead: '最后成功读取', lastError: '最后错误',
    },
    explore: {
      title: '组织与计量', tree: '组织树', range: '时间范围', from: '开始', to: '结束', bucket: '粒度',
      carrier: '能源品种', all: '全部', compare: '对比', none: '不对比', prev: '上一周期', lastYear: '去年同期',
      apply: '查询', source: '数据来源', meters: '计量点', current: '本期', comparison: '对比期',
      presets: { d1: '1 天', d7: '7 天', m1: '1 个月', y1: '1 年' }, total: '合计', expand: '展开', collapse: '收起',
    },
    sources: { raw: '原始数据', 'rollup:hour': '小时汇总', 'rollup:day': '日汇总', 'rollup:month': '月汇总' },
    bucket: { '15m': '15 分钟', hour: '小时', day: '日', week: '周', month: '月' },
    carbon: {
      title: '碳核算', period: '核算期', node: '节点', inventory: '温室气体清单',
      scope1: '范围一', scope2: '范围二（基于位置）', scope2m: '范围二（基于市场）', scope3: '范围三',
      total: '合计', bySource: '按排放源', source: '排放源', scope: '范围', meter: '计量点', activity: '活动数据',
      factor: '排放因子', formula: '公式', co2e: 'CO₂e', drill: '明细', back: '返回',
      grades: '企业碳效码', enterprise: '企业', grade: '等级', intensity: '碳排放强度',
      downloads: '下载', csv: 'CSV', xlsx: 'Excel', html: '打印版报告', energy: '综合能耗',
      factorsUsed: '使用的因子', version: '版本', document: '依据', status: '状态', value: '数值',
      noGrades: '该节点下没有可评级的企业', gradesError: '无法评级', periodHint: '年（2025）、季度（2025-Q3）或月（2025-03）',
      periodInvalid: '核算期格式应为 2025、2025-Q3 或 2025-03', valueAdded: '增加值', carbonIntensity: '单位增加值碳排放', energyIntensity: '单位增加值能耗',
      levels: { low: '低碳', medium: '中碳', high: '高碳' }, rank: '排名', k: '碳效指数 K', lines: '明细行', downloaded: '已下载',
      srcs: { stationary_combustion: '固定燃烧', mobile_combustion: '移动燃烧', process: '工业过程', purchased_electricity: '外购电力', purchased_heat: '外购热力' },
    },
    forecast: {
      title: '预测与实际', target: '对象', horizon: '预测时长', h24: '24 小时', h168: '7 天',
      actual: '实际', p50: '预测 P50', band: 'P10–P90', model: '模型', run: '预测并保存', runOnly: '预测', history: '历史截至',
      start: '预测起点', hint: '管理员和运维人员的预测会保存；起点早于最新数据时，可与实际值对比', hintReadOnly: '只读角色的预测不保存（保存需管理员或运维角色）；起点早于最新数据时，可与实际值对比', notStored: '未保存', wape: '加权绝对百分比误差', models: { auto: '自动选择', naive24: '前一日', naive168: '上周同期', mstl: 'MSTL 分解', ridge: '岭回归', ensemble: '组合', gbm: '梯度提升树', mixed: '多种模型' },
      lower: 'P10', upper: 'P90', chosen: '选用模型', node: '节点', meter: '计量点',
      stored: '已保存的预测', carrier: '能源品种', issue: '发布新预测', issued: '发布时间', covered: '有实际值的小时',
      hoursOf: '{n} / {total} 小时', bias: '偏差（预测 − 实际）', coverage: 'P10–P90 覆盖率', noActuals: '预测时段尚无实际数据',
      temperature: '气温（协变量）', noWeather: '不用气温', temperatureForecast: '预测时段气温', observedHorizon: '用实况（偏乐观）',
      weatherUsed: '气温协变量：{meter}', weatherObserved: '预测时段用的是实况气温（偏乐观：真实预测只有天气预报）',
      weatherForecast: '预测时段用的是天气预报 {meter}', weatherNone: '未使用气温',
    },
    manage: {
      title: '管理', meters: '计量点', factors: '排放因子', certificates: '绿证',
      id: '编号', name: '名称', node: '所属节点', carrier: '能源品种', unit: '单位', reading: '读数类型',
      save: '保存', saved: '已保存', kind: '类型', owner: '持有方', mwh: '电量（MWh）', vintage: '生产年份',
      technology: '技术', region: '地区', serialStart: '起始序列号', serialEnd: '结束序列号',
      retired: '已注销', active: '有效', addMeter: '新增 / 修改计量点', addCert: '登记绿证',
      kinds: { gec: '绿证', green_power_trade: '绿电交易' }, subject: '对象', factorsHint: '因子库（内置与用户添加的版本）。', upload: '上传因子文件（CSV）', factorKind: '文件类型', factorKinds: { fuels: '燃料', grid: '电网', process: '工业过程' }, file: '文件', chooseFile: '请选择 CSV 文件', added: '已添加 {n} 行', adminOnly: '只有管理员可以添加因子。',
      readings: { interval: '区间量', cumulative: '累计表码', instantaneous: '瞬时值' },
      invalid: '请检查输入', idPattern: '只允许字母、数字、点、短横线和下划线', positive: '须为正数', year: '须为四位年份', filter: '筛选', apiSaid: '服务器拒绝', count: '共 {n} 条', readOnly: '只读（需要运维或管理员角色才能修改）',
    },
    periods: { critical_peak: '尖峰', peak: '高峰', flat: '平段', valley: '低谷', deep_valley: '深谷' },
    status: { V1: 'V1 官方文件', V2: 'V2 权威二手来源', S: 'S 仅第三方来源', U: 'U 未确认', example: '示例值（请替换）' },
    tariffs: {
      title: '分时电价', list: '电价版本', id: '编号', version: '版本', name: '名称', region: '地区', appliesTo: '适用范围',
      source: '来源', builtin: '内置预设', added: '用户添加', validFrom: '生效日期', timezone: '时区', notes: '说明',
      grid: '各月时段（普通工作日，每格 15 分钟）', month: '月份', hour: '时刻', prices: '各时段电价', period: '时段',
      allIn: '合计', provenance: '各部分来源与状态', part: '部分', status: '状态', document: '依据',
      holidays: '节假日规则', holidayRule: '{names}：{windows}', critical: '尖峰规则', criticalMonths: '尖峰月份：{months}',
      trigger: '日最高气温达到 {c} °C（{station}）的日子也执行尖峰时段', basic: '基本电费（两部制）',
      capacityPrice: '按容量', demandPrice: '按需量', excess: '超过合同需量 {pct} 的部分按 {x} 倍计收', floor: '合同需量不低于容量的 {pct}',
      parts: { windows: '时段划分', critical_peak: '尖峰规则', ratios: '浮动比例', basic: '基本电费', holiday: '节假日规则 {n}', component: '电价构成：{name}' },
      components: { purchase: '购电价格', transmission: '输配电价', system: '系统运行费及线损', funds: '政府性基金及附加' },
      open: '查看', none: '无', slotLabel: '{month} {from}–{to}：{period}',
      holidayNames: { 元旦: '元旦', 春节: '春节', 清明节: '清明节', 劳动节: '劳动节', 端午节: '端午节', 中秋节: '中秋节', 国庆节: '国庆节' },
    },
    tariffForm: {
      title: '新增电价版本', hint: '以当前版本为基础：填写新的月度价格表，时段划分沿用；版本一经保存不再修改。', base: '基础版本',
      version: '新版本号', validFrom: '生效日期（可选）', name: '名称', price: '平段价格（元/kWh）', byPeriod: '按时段定价（在 TOML 中修改）',
      ratios: '浮动比例（相对平段）', priceSource: '价格来源（文件或价格表）', priceStatus: '价格状态',
      tomlMode: '直接编辑 TOML', formMode: '返回表单', toml: 'TOML 文件', save: '保存新版本', saved: '已保存版本 {version}',
      versionPattern: '只允许字母、数字、点、短横线和下划线', versionExists: '该电价已有此版本', range: '须在 {min} 到 {max} 之间',
      number: '须为数字',
    },
    bill: {
      title: '电费账单', node: '节点', period: '账期', tariff: '电价', basic: '基本电费方式', capacity: '变压器容量（kVA）',
      contract: '合同最大需量（kW）', compare: '比较基本电费方式', run: '计算', methods: { none: '不计基本电费', capacity: '按容量', contract_demand: '按合同最大需量', actual_demand: '按实际最大需量' },
      total: '电费合计', energy: '用电量', energyAmount: '电度电费', basicAmount: '基本电费', average: '平均电价', byPeriod: '按时段',
      share: '占比', price: '电价', amount: '金额', months: '各月基本电费',
      month: '月份', maxDemand: '最大需量（15 分钟平均）', maxDemandAt: '出现时间', billed: '计费容量/需量', excessKw: '超需量', notes: '说明',
      others: '与其他电价比较', tariffComparison: '电价比较（同一用电数据）', version: '版本', aboveCheapest: '高于最低',
      comparison: '基本电费方式比较', method: '方式', cheapest: '最低', bestContract: '按本期数据最经济的合同需量：{kw}',
      usedTariff: '电价 {id} · 版本 {version} · 时区 {tz}', meters: '{n} 个电表', intervals: '{n} 个 15 分钟区间', needsCapacity: '比较需要变压器容量',
      periodHint: '月（2025-06）、季度（2025-Q2）或年（2025）', periodInvalid: '账期格式应为 2025-06、2025-Q2 或 2025', energyShare: '各时段用电量',
      temperature: '气温触发尖峰（气温电表）', noTemperature: '不按气温触发', criticalDays: '尖峰日（日最高气温 ≥ {c}）',
      criticalNone: '本期没有日最高气温达到 {c} 的日子', daysWithoutData: '{n} 天无气温数据，无法触发', dayMax: '日最高气温', date: '日期',
    },
    schedule: {
      title: '优化调度（峰谷优化）', node: '节点', tariff: '电价', start: '开始日期', hours: '时长（小时）', model: '负荷预测模型',
      basic: '需量电费', basicNone: '不计', basicActual: '按实际最大需量', battery: '储能', energy: '容量（kWh）', power: '功率（kW）',
      efficiency: '单程效率（%）', socMin: '最低 SoC（%）', socMax: '最高 SoC（%）', socInitial: '初始 SoC（%）', cycleCost: '循环成本（元/kWh）',
      shiftable: '可平移负荷', useShiftable: '加入可平移负荷', shiftName: '名称', shiftPower: '功率（kW）', shiftHours: '运行时长（小时）',
      windowFrom: '允许开始（第几小时）', windowTo: '须结束（第几小时）', importLimit: '购电上限（kW，可选）', run: '优化',
      load: '基线负荷（预测 P50）', import: '优化后购电', jobs: '可平移负荷功率', price: '电价', charge: '充电', discharge: '放电', soc: 'SoC',
      powerChart: '负荷与购电（底色为分时时段）', batteryChart: '储能功率与 SoC', costs: '成本（元）', item: '项目', plan: '优化方案', baseline: '不调节',
      diff: '差额', savings: '节省', emissions: '购电排放', emissionsChange: '排放变化', peak: '购电峰值', method: '求解状态',
      methods: { optimal: '最优解', time_limit: '达到时间上限的可行解', relaxed: '线性松弛（后备方案）', rule_based: '不调节方案（后备方案）' },
      fallback: '后备方案：{reason}', violations: '未满足的约束', gap: 'MIP 间隙 {gap}', solveMs: '求解 {ms} ms', used: '电价 {id} · 版本 {version} · 电网因子 {factor}',
      loadSource: '负荷：{source}', weather: '负荷预测气温', noWeather: '不用气温', loadWeather: '负荷预测用气温 {covariate}（计划时段：{weather}）', horizonWeather: { observed: '实测气温（偏乐观）', forecast: '预报气温' }, startAt: '起点 {start}', endSoc: '结束 SoC', costItems: { energy: '电度电费', export_revenue: '上网收入', battery_wear: '电池损耗', curtailment: '切负荷成本', demand: '新增需量电费', total: '合计' },
      hoursRange: '须为 24 到 48 的整数', percent: '须在 0 到 100 之间', socOrder: '须满足 最低 ≤ 初始 ≤ 最高', windowOrder: '窗口须在时长内且能容纳运行时长', busy: '求解中…',
    },
    carriers: {
      electricity: '电力', natural_gas: '天然气', coal_raw: '原煤', coal_washed: '洗精煤', coal_bituminous: '烟煤',
      coal_anthracite: '无烟煤', coal_lignite: '褐煤', coke: '焦炭', diesel: '柴油', gasoline: '汽油', kerosene: '煤油',
      fuel_oil: '燃料油', lpg: '液化石油气', heat: '热力', steam: '蒸汽', water: '水', compressed_air: '压缩空气',
      pv_generation: '光伏发电', production_output: '产量', value_added: '增加值', air_temperature: '气温', other: '其他',
    },
    units: { tco2e: 't CO₂e', tce: 'tce', kw: 'kW', pct: '%', tPer10k: 't CO₂/万元', tcePer10k: 'tce/万元', yuan10k: '万元', yuan: '元', yuanPerKwh: '元/kWh', kwh: 'kWh', kva: 'kVA', yuanPerKvaMonth: '元/(kVA·月)', yuanPerKwMonth: '元/(kW·月)', kgco2: 'kg CO₂', degC: '℃' },
  },
  en: {
    app: 'shulv · Energy & Carbon',
    lang: '中文', langLabel: 'Switch language',
    login: 'Log in', logout: 'Log out', username: 'User name', password: 'Password',
    loginFailed: 'Login failed', loginHint: 'Log in with the account your administrator gave you',
    quarter: 'Q{q} {y}',
    required: 'Required', datePlaceholder: 'yyyy-mm-dd', dateInvalid: 'A date is written 2025-03-01', loading: 'Loading…', error: 'Error', noData: 'No data',
    nav: { overview: 'Overview', explore: 'Tree & meters', carbon: 'Carbon', forecast: 'Forecast', tariffs: 'Tariffs', bill: 'Bills', schedule: 'Schedule', manage: 'Manage' },
    scope: 'Scope', allScope: 'everything', role: 'Role',
    overview: {
      title: 'Overview', wall: 'Wall display', exitWall: 'Leave wall display', node: 'Node',
      asOf: 'Data as of', lag: 'newest data is {d} days old', today: 'Energy on the day', month: 'Energy this month',
      carbonMonth: 'Carbon this month', carbonYear: 'Carbon year to date', tce: 'Energy use (month)',
      green: 'Green power share (month)', peak: 'Maximum demand this month (15 min)', alarms: 'Meters not reporting', alarmsNone: 'Every meter is reporting',
      vsPrev: 'vs last period', vsLastYear: 'vs last year', monthToDate: 'month to date; compared with last month and last year once the month is complete', trend: 'Electricity, last 30 days', lastReport: 'Last report', never: 'never',
      monitored: '{n} meters monitored', daily: 'Daily electricity', peakNote: 'highest 15-minute mean load, as billed', peakAt: 'at {t}',
      fieldDevices: 'Field devices', collectorsNone: 'No collector has reported yet', collectorReport: 'last report {t}',
      collectorSilent: 'collector silent (no report for over 2 minutes)', devicesAllOk: 'All {n} devices are reporting', device: 'Device',
      channel: 'Channel', lastRead: 'Last successful read', lastError: 'Last error',
    },
    explore: {
      title: 'Tree & meters', tree: 'Organisation', range: 'Range', from: 'From', to: 'To', bucket: 'Bucket',
      carrier: 'Carrier', all: 'All', compare: 'Compare', none: 'No comparison', prev: 'Previous period', lastYear: 'Last year',
      apply: 'Query', source: 'Source', meters: 'Meters', current: 'This period', comparison: 'Comparison',
      presets: { d1: '1 day', d7: '7 days', m1: '1 month', y1: '1 year' }, total: 'Total', expand: 'Expand', collapse: 'Collapse',
    },
    sources: { raw: 'raw readings', 'rollup:hour': 'hourly rollups', 'rollup:day': 'daily rollups', 'rollup:month': 'monthly rollups' },
    bucket: { '15m': '15 min', hour: 'Hour', day: 'Day', week: 'Week', month: 'Month' },
    carbon: {
      title: 'Carbon accounts', period: 'Period', node: 'Node', inventory: 'GHG inventory',
      scope1: 'Scope 1', scope2: 'Scope 2 (location)', scope2m: 'Scope 2 (market)', scope3: 'Scope 3',
      total: 'Total', bySource: 'By source', source: 'Source', scope: 'Scope', meter: 'Meter', activity: 'Activity',
      factor: 'Factor', formula: 'Formula', co2e: 'CO₂e', drill: 'Details', back: 'Back',
      grades: 'Carbon-efficiency grades', enterprise: 'Enterprise', grade: 'Grade', intensity: 'Carbon intensity',
      downloads: 'Downloads', csv: 'CSV', xlsx: 'Excel', html: 'Printable report', energy: 'Energy use',
      factorsUsed: 'Factors used', version: 'Version', document: 'Source document', status: 'Status', value: 'Value',
      noGrades: 'No enterprise below this node can be graded', gradesError: 'Cannot grade', periodHint: 'year (2025), quarter (2025-Q3) or month (2025-03)',
      periodInvalid: 'The period is 2025, 2025-Q3 or 2025-03', valueAdded: 'Value added', carbonIntensity: 'Carbon per value added', energyIntensity: 'Energy per value added',
      levels: { low: 'Low carbon', medium: 'Medium carbon', high: 'High carbon' }, rank: 'Rank', k: 'Efficiency index K', lines: 'Lines', downloaded: 'Downloaded',
      srcs: { stationary_combustion: 'Stationary combustion', mobile_combustion: 'Mobile combustion', process: 'Industrial processes', purchased_electricity: 'Purchased electricity', purchased_heat: 'Purchased heat' },
    },
    forecast: {
      title: 'Forecast vs actual', target: 'Target', horizon: 'Horizon', h24: '24 hours', h168: '7 days',
      actual: 'Actual', p50: 'Forecast P50', band: 'P10–P90', model: 'Model', run: 'Forecast and store', runOnly: 'Forecast', history: 'History up to',
      start: 'Forecast start', hint: 'Forecasts of administrators and operators are stored; a start before the newest data shows it against the actual values', hintReadOnly: 'Forecasts of read-only roles are not stored (storing needs the admin or operator role); a start before the newest data shows it against the actual values', notStored: 'Not stored', wape: 'WAPE', models: { auto: 'Automatic', naive24: 'Previous day', naive168: 'Same hour last week', mstl: 'MSTL decomposition', ridge: 'Ridge regression', ensemble: 'Ensemble', gbm: 'Gradient boosting', mixed: 'Several models' },
      lower: 'P10', upper: 'P90', chosen: 'Model used', node: 'Node', meter: 'Meter',
      stored: 'Stored forecasts', carrier: 'Carrier', issue: 'Issue a forecast', issued: 'Issued', covered: 'Hours with actuals',
      hoursOf: '{n} of {total} hours', bias: 'Bias (forecast − actual)', coverage: 'P10–P90 coverage', noActuals: 'No actual data for these hours yet',
      temperature: 'Temperature (covariate)', noWeather: 'No temperature', temperatureForecast: 'Weather of the forecast hours', observedHorizon: 'Observed (optimistic)',
      weatherUsed: 'Temperature covariate: {meter}', weatherObserved: 'The forecast hours used the observed temperatures (optimistic: a real forecast only has forecast weather)',
      weatherForecast: 'The forecast hours used the weather forecast {meter}', weatherNone: 'No temperature used',
    },
    manage: {
      title: 'Manage', meters: 'Meters', factors: 'Factors', certificates: 'Certificates',
      id: 'Id', name: 'Name', node: 'Node', carrier: 'Carrier', unit: 'Unit', reading: 'Reading',
      save: 'Save', saved: 'Saved', kind: 'Kind', owner: 'Owner', mwh: 'Quantity (MWh)', vintage: 'Vintage',
      technology: 'Technology', region: 'Region', serialStart: 'First serial', serialEnd: 'Last serial',
      retired: 'Retired', active: 'Active', addMeter: 'Add or change a meter', addCert: 'Register a certificate',
      kinds: { gec: 'GEC', green_power_trade: 'Green-power trade' }, subject: 'Subject', factorsHint: 'The factor library (shipped and user-added versions).', upload: 'Upload a factor file (CSV)', factorKind: 'File kind', factorKinds: { fuels: 'Fuels', grid: 'Grid', process: 'Processes' }, file: 'File', chooseFile: 'Choose a CSV file', added: '{n} rows added', adminOnly: 'Only administrators add factors.',
      readings: { interval: 'Interval', cumulative: 'Register', instantaneous: 'Instantaneous' },
      invalid: 'Please check the form', idPattern: 'Letters, digits, dot, dash and underscore only', positive: 'Must be a positive number', year: 'Must be a four-digit year', filter: 'Filter', apiSaid: 'The server refused', count: '{n} rows', readOnly: 'Read only (changes need the operator or admin role)',
    },
    periods: { critical_peak: 'Critical peak', peak: 'Peak', flat: 'Flat', valley: 'Valley', deep_valley: 'Deep valley' },
    status: { V1: 'V1 official text', V2: 'V2 reputable secondary', S: 'S third-party only', U: 'U unconfirmed', example: 'example value (replace)' },
    tariffs: {
      title: 'Time-of-use tariffs', list: 'Tariff versions', id: 'Id', version: 'Version', name: 'Name', region: 'Region', appliesTo: 'Applies to',
      source: 'Source', builtin: 'shipped preset', added: 'added', validFrom: 'Valid from', timezone: 'Time zone', notes: 'Notes',
      grid: 'Periods by month (ordinary working day, 15-minute cells)', month: 'Month', hour: 'Time', prices: 'Prices by period', period: 'Period',
      allIn: 'All-in', provenance: 'Status and source of each part', part: 'Part', status: 'Status', document: 'Source',
      holidays: 'Holiday rules', holidayRule: '{names}: {windows}', critical: 'Critical-peak rule', criticalMonths: 'Critical-peak months: {months}',
      trigger: 'also on days whose maximum temperature reaches {c} °C ({station})', basic: 'Basic charge (two-part)',
      capacityPrice: 'By capacity', demandPrice: 'By demand', excess: 'demand above {pct} of the contract is billed {x} times', floor: 'the contract is at least {pct} of the capacity',
      parts: { windows: 'Windows', critical_peak: 'Critical-peak rule', ratios: 'Ratios', basic: 'Basic charge', holiday: 'Holiday rule {n}', component: 'Component: {name}' },
      components: { purchase: 'Energy purchase', transmission: 'Transmission & distribution', system: 'System operation & losses', funds: 'Government funds' },
      open: 'Open', none: 'none', slotLabel: '{month} {from}–{to}: {period}',
      holidayNames: { 元旦: 'New Year', 春节: 'Spring Festival', 清明节: 'Qingming', 劳动节: 'Labour Day', 端午节: 'Dragon Boat Festival', 中秋节: 'Mid-Autumn Festival', 国庆节: 'National Day' },
    },
    tariffForm: {
      title: 'Add a tariff version', hint: 'Based on the version shown: enter the new monthly price table, the windows stay; a saved version is never changed.', base: 'Based on',
      version: 'New version', validFrom: 'Valid from (optional)', name: 'Name', price: 'Flat price (yuan/kWh)', byPeriod: 'priced by period (change it in TOML)',
      ratios: 'Ratios (to the flat price)', priceSource: 'Source of the prices (document or table)', priceStatus: 'Status of the prices',
      tomlMode: 'Edit the TOML', formMode: 'Back to the form', toml: 'TOML file', save: 'Save the new version', saved: 'Version {version} saved',
      versionPattern: 'Letters, digits, dot, dash and underscore only', versionExists: 'This tariff already has that version', range: 'Must be between {min} and {max}',
      number: 'Must be a number',
    },
    bill: {
      title: 'Electricity bill', node: 'Node', period: 'Period', tariff: 'Tariff', basic: 'Basic charge', capacity: 'Transformer capacity (kVA)',
      contract: 'Contract demand (kW)', compare: 'Compare basic-charge methods', run: 'Compute', methods: { none: 'No basic charge', capacity: 'By capacity', contract_demand: 'By contract demand', actual_demand: 'By actual demand' },
      total: 'Total', energy: 'Energy', energyAmount: 'Energy charge', basicAmount: 'Basic charge', average: 'Average price', byPeriod: 'By period',
      share: 'Share', price: 'Price', amount: 'Amount', months: 'Basic charge by month',
      month: 'Month', maxDemand: 'Maximum demand (15-minute mean)', maxDemandAt: 'At', billed: 'Billed capacity / demand', excessKw: 'Excess demand', notes: 'Notes',
      others: 'Compare with other tariffs', tariffComparison: 'Tariffs compared on the same data', version: 'Version', aboveCheapest: 'Above the cheapest',
      comparison: 'Basic-charge methods compared', method: 'Method', cheapest: 'cheapest', bestContract: 'Cheapest contract demand for this data: {kw}',
      usedTariff: 'Tariff {id} · version {version} · time zone {tz}', meters: '{n} meters', intervals: '{n} intervals of 15 minutes', needsCapacity: 'The comparison needs the transformer capacity',
      periodHint: 'month (2025-06), quarter (2025-Q2) or year (2025)', periodInvalid: 'The period is 2025-06, 2025-Q2 or 2025', energyShare: 'Energy by period',
      temperature: 'Critical peaks by temperature (air-temperature meter)', noTemperature: 'No temperature trigger', criticalDays: 'Critical-peak days (daily maximum ≥ {c})',
      criticalNone: 'No day of the period reached a maximum of {c}', daysWithoutData: '{n} days without temperature data cannot trigger', dayMax: 'Daily maximum', date: 'Date',
    },
    schedule: {
      title: 'Optimised schedule', node: 'Node', tariff: 'Tariff', start: 'Start date', hours: 'Hours', model: 'Load forecast model',
      basic: 'Demand charge', basicNone: 'none', basicActual: 'actual maximum demand', battery: 'Battery', energy: 'Energy (kWh)', power: 'Power (kW)',
      efficiency: 'One-way efficiency (%)', socMin: 'Lowest SoC (%)', socMax: 'Highest SoC (%)', socInitial: 'Initial SoC (%)', cycleCost: 'Cycle cost (yuan/kWh)',
      shiftable: 'Shiftable load', useShiftable: 'Add a shiftable load', shiftName: 'Name', shiftPower: 'Power (kW)', shiftHours: 'Run time (hours)',
      windowFrom: 'May start at hour', windowTo: 'Must end by hour', importLimit: 'Import limit (kW, optional)', run: 'Optimise',
      load: 'Baseline load (P50 forecast)', import: 'Optimised import', jobs: 'Shiftable load', price: 'Price', charge: 'Charge', discharge: 'Discharge', soc: 'SoC',
      powerChart: 'Load and import (shaded by tariff period)', batteryChart: 'Battery power and SoC', costs: 'Cost (yuan)', item: 'Item', plan: 'Plan', baseline: 'Do nothing',
      diff: 'Difference', savings: 'Savings', emissions: 'Import emissions', emissionsChange: 'Emissions change', peak: 'Peak import', method: 'Solver status',
      methods: { optimal: 'optimal', time_limit: 'feasible at the time limit', relaxed: 'LP relaxation (fallback)', rule_based: 'do-nothing plan (fallback)' },
      fallback: 'Fallback: {reason}', violations: 'Constraints not met', gap: 'MIP gap {gap}', solveMs: 'solved in {ms} ms', used: 'Tariff {id} · version {version} · grid factor {factor}',
      loadSource: 'Load: {source}', weather: 'Load forecast temperature', noWeather: 'No temperature', loadWeather: 'Load forecast with {covariate} (plan hours: {weather})', horizonWeather: { observed: 'observed weather (optimistic)', forecast: 'forecast weather' }, startAt: 'starts {start}', endSoc: 'SoC at the end', costItems: { energy: 'Energy charge', export_revenue: 'Export revenue', battery_wear: 'Battery wear', curtailment: 'Curtailment', demand: 'Added demand charge', total: 'Total' },
      hoursRange: 'Must be a whole number from 24 to 48', percent: 'Must be between 0 and 100', socOrder: 'Must be lowest ≤ initial ≤ highest', windowOrder: 'The window must lie in the horizon and hold the run time', busy: 'Solving…',
    },
    carriers: {
      electricity: 'Electricity', natural_gas: 'Natural gas', coal_raw: 'Raw coal', coal_washed: 'Washed coal', coal_bituminous: 'Bituminous coal',
      coal_anthracite: 'Anthracite', coal_lignite: 'Lignite', coke: 'Coke', diesel: 'Diesel', gasoline: 'Gasoline', kerosene: 'Kerosene',
      fuel_oil: 'Fuel oil', lpg: 'LPG', heat: 'Heat', steam: 'Steam', water: 'Water', compressed_air: 'Compressed air',
      pv_generation: 'PV generation', production_output: 'Output', value_added: 'Value added', air_temperature: 'Air temperature', other: 'Other',
    },
    units: { tco2e: 't CO₂e', tce: 'tce', kw: 'kW', pct: '%', tPer10k: 't CO₂ per 10k yuan', tcePer10k: 'tce per 10k yuan', yuan10k: '10k yuan', yuan: 'yuan', yuanPerKwh: 'yuan/kWh', kwh: 'kWh', kva: 'kVA', yuanPerKvaMonth: 'yuan/(kVA·month)', yuanPerKwMonth: 'yuan/(kW·month)', kgco2: 'kg CO₂', degC: '℃' },
  },
};

const saved = typeof localStorage !== 'undefined' ? localStorage.getItem('shulv.locale') : null;
export const locale = ref(saved === 'en' ? 'en' : 'zh-CN');

/** Switches between zh-CN and en and remembers the choice. */
export function toggleLocale() {
  locale.value = locale.value === 'en' ? 'zh-CN' : 'en';
  localStorage.setItem('shulv.locale', locale.value);
  document.documentElement.lang = locale.value;
}

/** The message at dotted `key`, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  let v = key.split('.').reduce((o, k) => (o == null ? undefined : o[k]), messages[locale.value]);
  if (v === undefined) v = key;
  return String(v).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? '');
}

/** Carrier name in the locale. */
export const carrierName = (c) => t(`carriers.${c}`);

const formats = new Map();
/** An Intl formatter of the current locale, made once per kind and options (they are slow to make). */
function formatter(Kind, opts) {
  const key = `${Kind.name}|${locale.value}|${JSON.stringify(opts)}`;
  let f = formats.get(key);
  if (!f) formats.set(key, (f = new Kind(locale.value, opts)));
  return f;
}

/** A number in the locale with at most `digits` fraction digits and a unit. */
export function num(value, unit = '', digits = 1) {
  if (value == null || !Number.isFinite(value)) return '–';
  const s = formatter(Intl.NumberFormat, { maximumFractionDigits: digits }).format(value);
  return unit ? `${s} ${unit}` : s;
}

/** A signed percentage change, or a dash. */
export function change(now, before) {
  if (!before || !Number.isFinite(now)) return '–';
  const p = ((now - before) / Math.abs(before)) * 100;
  const s = formatter(Intl.NumberFormat, { maximumFractionDigits: 1, signDisplay: 'always' }).format(p);
  return `${s} %`;
}

/** A date-time (ms UTC) in the locale and the node's time zone. */
export function dateTime(ms, timeZone = 'Asia/Shanghai', withTime = true) {
  if (ms == null) return '–';
  const opts = withTime
    ? { dateStyle: 'medium', timeStyle: 'short', timeZone }
    : { dateStyle: 'medium', timeZone };
  return formatter(Intl.DateTimeFormat, opts).format(new Date(ms));
}

/** An axis label for a bucket start (ms UTC). */
export function bucketLabel(ms, bucket, timeZone = 'Asia/Shanghai') {
  const o = { timeZone };
  if (bucket === 'month') Object.assign(o, { year: 'numeric', month: 'short' });
  else if (bucket === 'day' || bucket === 'week') Object.assign(o, { month: 'short', day: 'numeric' });
  else Object.assign(o, { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  return formatter(Intl.DateTimeFormat, o).format(new Date(ms));
}

/** The short name of month `m` (1–12) in the locale. */
export function monthName(m) {
  return formatter(Intl.DateTimeFormat, { month: 'short', timeZone: 'UTC' }).format(new Date(Date.UTC(2001, m - 1, 1)));
}

/** A time-of-use period (尖峰 … 深谷) in the locale. */
export const periodName = (p) => t(`periods.${p}`);

/** A period or date as the API writes it (`2025`, `2025-Q3`, `2025-06`, `2025-06-01`) in the locale. */
export function periodLabel(s) {
  const [y, m, d] = s.split('-');
  if (m === undefined) return y;
  if (m.startsWith('Q')) return t('quarter', { y, q: m.slice(1) });
  const opts = d === undefined ? { year: 'numeric', month: 'long', timeZone: 'UTC' } : { dateStyle: 'medium', timeZone: 'UTC' };
  return formatter(Intl.DateTimeFormat, opts).format(new Date(Date.UTC(Number(y), Number(m) - 1, Number(d || 1))));
}
