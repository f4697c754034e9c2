// ECharts with only the parts the console uses (tree-shaken), on the canvas renderer.
import * as echarts from 'echarts/core';
import { LineChart, BarChart, PieChart } from 'echarts/charts';
import {
  GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, MarkAreaComponent, TitleComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  LineChart, BarChart, PieChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent,
  MarkAreaComponent, TitleComponent, CanvasRenderer,
]);

export default echarts;
export const palette = ['#1f7a4d', '#3b82c4', '#e0a526', '#c2514a', '#7b5ea7', '#2aa39a', '#8c8c8c', '#d4793a'];
